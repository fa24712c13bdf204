"""Parse a ``multipart/form-data`` body the way a server framework would."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP


@dataclass(frozen=True)
class FormPart:
    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None

    @property
    def text(self) -> str:
        return self.data.decode()


def parse_form_data(content_type: str, body: bytes) -> dict[str, FormPart]:
    """Field name → part; raises ``ValueError`` for a body that is not valid form data."""
    if not content_type.startswith("multipart/form-data") or "boundary=" not in content_type:
        raise ValueError("Content-Type must be multipart/form-data with a boundary")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message: Message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise ValueError("body is not multipart")
    parts: dict[str, FormPart] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        if not name:
            raise ValueError("a part has no Content-Disposition name")
        payload = part.get_payload(decode=True) or b""
        parts[name] = FormPart(name=name, data=payload,
                               filename=part.get_param("filename",
                                                       header="content-disposition"),
                               content_type=part.get_content_type()
                               if part.get("Content-Type") else None)
    return parts
