"""附件 (REC-4, SEC-2): attachments stored by their SM3 content hash; a record commits to the hash. An
attachment is read only in the caller's scope, checked against its hash; the read is logged (REC-6)."""
from __future__ import annotations

import base64
import logging

from services.common.blobs import BlobCorrupted, BlobError, BlobNotFound, check_hash, max_record_blob_bytes
from services.common.db import utcnow
from services.common.scope import Scope
from services.records import store

from .access import error, log_access, logged_read

log = logging.getLogger(__name__)


def put_blob(db, blobs, data_b64, media_type, uploaded_by, scope) -> dict:
    """Store an attachment uploaded by a principal who acts for at least one body (SEC-2)."""
    scope = Scope.of(scope)
    if scope.empty:
        return error(403, "out_of_scope", "未绑定执法主体，不能上传附件")
    region_code = scope.region_code
    data = base64.b64decode(data_b64)
    if len(data) > max_record_blob_bytes():
        return error(413, "too_large", f"附件超过 {max_record_blob_bytes()} 字节")
    content_hash = blobs.put(data)
    with db.session() as session:
        existed = store.add_blob_if_new(session, content_hash, size=len(data),
                                        media_type=media_type or "application/octet-stream",
                                        uploaded_by=uploaded_by, region_code=region_code, uploaded_at=utcnow())
    return {"content_hash": content_hash, "size": len(data), "already_stored": existed}


BLOB_CHUNK = 1 << 20     # bytes per chunk of a streamed attachment (issue 20)


def _allowed(session, scope: Scope, content_hash: str, accessor):
    """(metadata, first referencing entry in scope) if the caller may read the attachment, else None."""
    meta = store.blob(session, content_hash)
    row = store.first_entry_referencing(session, scope, content_hash)
    uploaded_in_scope = meta is not None and scope.covers_region(meta.region_code) and (
        scope.all_bodies or (bool(accessor) and meta.uploaded_by == accessor.get("subject")))
    if row is None and not uploaded_in_scope:
        return None
    return meta, row


def get_blob(db, ledger, blobs, content_hash, scope, accessor):
    """An attachment's metadata to stream it (``get_blob_chunk``), if a record of a case in the caller's
    scope (region and body) references it, or the caller uploaded it, or it was uploaded in the region
    of a caller with every body of it; the read is logged on the referencing case. Issue 20: no lock,
    and the bytes are never held whole — the stored file is checked against its hash in chunks here,
    then read a chunk per call."""
    scope = Scope.of(scope)
    try:
        check_hash(content_hash)
    except BlobError as exc:
        return error(422, "bad_hash", str(exc))
    with logged_read(db, ledger) as (session, reads):
        allowed = _allowed(session, scope, content_hash, accessor)
        if allowed is None:
            return None
        meta, row = allowed
        try:
            size = blobs.check(content_hash, BLOB_CHUNK)
        except BlobNotFound:
            return error(404, "not_stored", "记录引用了该附件，但附件未上传到附件库")
        except BlobCorrupted as exc:
            log.error("attachment %s corrupted: %s", content_hash, exc)
            return error(409, "corrupted", "附件内容与其SM3哈希不符（可能被篡改或损坏），拒绝提供")
        if row is not None and row.case_id:
            case = store.case(session, row.case_id)
            if case is not None:
                log_access(reads, case, accessor, "attachment", content_hash=content_hash)
        return {"content_hash": content_hash, "size": size, "chunk_size": BLOB_CHUNK,
                "media_type": meta.media_type if meta else "application/octet-stream"}


def get_blob_chunk(db, blobs, content_hash, offset, scope, accessor):
    """``BLOB_CHUNK`` bytes of an attachment from ``offset`` (base64), in the same scope as ``get_blob``
    (checked again; not logged again — the download was logged once by ``get_blob``)."""
    scope = Scope.of(scope)
    try:
        check_hash(content_hash)
    except BlobError as exc:
        return error(422, "bad_hash", str(exc))
    offset = int(offset)
    if offset < 0:
        return error(422, "bad_offset", "offset 不能为负数")
    with db.session() as session:
        if _allowed(session, scope, content_hash, accessor) is None:
            return None
    try:
        data = blobs.read_at(content_hash, offset, BLOB_CHUNK)
    except BlobNotFound:
        return error(404, "not_stored", "附件未上传到附件库")
    return {"offset": offset, "data_b64": base64.b64encode(data).decode("ascii"), "eof": len(data) < BLOB_CHUNK}
