"""``store = "s3"``: any S3-compatible bucket (AWS, MinIO, Ceph, a cloud provider's).

The bucket stays private: each image is uploaded under a key of its own and the network
gets a **presigned GET URL** that expires after ``expires_seconds`` (default an hour,
ample for Meta's fetch, which happens while the container is made). After the network
fetched it the object is deleted, unless ``[media] keep = true``.

Keys come from ``SIAR_SECRET_MEDIA_ACCESS_KEY_ID`` and ``SIAR_SECRET_MEDIA_SECRET_ACCESS_KEY``
(environment or ``.env``, like every secret), else from boto3's usual sources (``AWS_*``
variables, a profile, an instance role). Neither is ever printed: boto3's errors carry
the access key id at most, and that is redacted too.
"""

from __future__ import annotations

import os
import secrets
import threading
from typing import Any
from urllib.parse import unquote, urlsplit

from scheduler import envfile
from scheduler.i18n import _
from scheduler.media_hosting.base import PreparedFile, PublicStore, StoreError

#: the variables (``SIAR_SECRET_MEDIA_<FIELD>``) holding the bucket's keys
KEY_FIELDS = ("access_key_id", "secret_access_key")


def media_secret(field: str) -> str | None:
    """``SIAR_SECRET_MEDIA_<FIELD>`` from the environment or ``.env``."""
    variable = f"SIAR_SECRET_MEDIA_{field.upper()}"
    return os.environ.get(variable) or envfile.dotenv().get(variable) or None


class S3Store(PublicStore):
    """A bucket reached through boto3 (a client per store; boto3 clients are thread-safe)."""

    name = "s3"

    def __init__(self, *, bucket: str, prefix: str = "siar/", endpoint_url: str | None = None,
                 region: str | None = None, expires_seconds: int = 3600) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.endpoint_url = endpoint_url
        self.region = region
        self.expires_seconds = expires_seconds
        self._client: Any = None
        self._keys: dict[str, str] = {}
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        """The boto3 S3 client, made on first use (importing boto3 costs start-up time)."""
        with self._lock:
            if self._client is None:
                import boto3
                from botocore.config import Config

                access, secret = (media_secret(f) for f in KEY_FIELDS)
                self._client = boto3.client(
                    "s3", endpoint_url=self.endpoint_url, region_name=self.region,
                    aws_access_key_id=access, aws_secret_access_key=secret,
                    # path-style: what S3-compatible services all understand
                    config=Config(signature_version="s3v4", connect_timeout=5,
                                  read_timeout=30, retries={"max_attempts": 2},
                                  s3={"addressing_style": "path"}))
            return self._client

    def put(self, prepared: PreparedFile) -> str:
        """Upload under ``<prefix><random>/<sha256 prefix>.<ext>``; a presigned GET URL."""
        key = f"{self.prefix}{secrets.token_urlsafe(12)}/{prepared.sha256[:16]}" \
              f"{prepared.suffix}"
        try:
            with prepared.path.open("rb") as body:
                self.client.put_object(Bucket=self.bucket, Key=key, Body=body,
                                       ContentType=prepared.mime)
            url = str(self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key},
                ExpiresIn=self.expires_seconds))
        except OSError as exc:
            raise StoreError(_("{file} cannot be read: {reason}").format(
                file=prepared.path.name, reason=exc.strerror)) from exc
        except Exception as exc:  # botocore's ClientError, EndpointConnectionError, …
            raise StoreError(self._explain(exc, _("could not upload to bucket {bucket}"))) from exc
        with self._lock:
            self._keys[url] = key
        return url

    def delete(self, url: str) -> None:
        """Delete the object behind ``url`` (its key is in the URL's path)."""
        with self._lock:
            key = self._keys.pop(url, None)
        if key is None:
            path = unquote(urlsplit(url).path).lstrip("/")
            key = path.removeprefix(f"{self.bucket}/")
            if not key.startswith(self.prefix):
                return  # not one of ours: never delete what Siar did not put
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            failed = _("could not delete from bucket {bucket}")
            raise StoreError(self._explain(exc, failed)) from exc

    def check(self) -> str:
        """``HeadBucket``: the bucket exists and the keys may use it."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            raise StoreError(self._explain(exc, _("could not reach bucket {bucket}"))) from exc
        where = self.endpoint_url or f"AWS {self.region or 'default region'}"
        return _("S3 bucket {bucket} at {where}").format(bucket=self.bucket, where=where)

    def _explain(self, exc: Exception, failed: str) -> str:
        """What went wrong (``failed``: the translated sentence, with ``{bucket}``), in
        words, with no key in them."""
        text = f"{failed.format(bucket=repr(self.bucket))}: {type(exc).__name__}: {exc}"
        for value in (media_secret(f) for f in KEY_FIELDS):
            if value:
                text = text.replace(value, "***")
        if "NoCredentials" in type(exc).__name__ or "InvalidAccessKeyId" in text \
                or "SignatureDoesNotMatch" in text:
            text += (_("; set SIAR_SECRET_MEDIA_ACCESS_KEY_ID and "
                       "SIAR_SECRET_MEDIA_SECRET_ACCESS_KEY in .env"))
        return text
