"""Attachments: one store for every channel and the live chat. Files are kept with the type their
bytes show (never the declared one) within the limits, a refused file is listed on its message with
the reason while the message is kept, providers' media are fetched by a job after the message is
stored, and only those who may see a file's message can download it (404 for anyone else)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import func, select

from gopaycare.attachments import sniff
from gopaycare.attachments.models import Attachment, AttachmentContent
from gopaycare.attachments.store import AttachmentStore, Limits, Refused
from gopaycare.desk.inbox import TicketFilter
from gopaycare.desk.models import Message
from gopaycare.platform.settings import SettingsError, load_settings
from tests.conftest import PASSWORD
from tests.fake_api import FakeApi, Media, serve
from tests.helpers import api_client, assisted_services, open_socket

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(100))
PDF = b"%PDF-1.7\n" + b"1 0 obj << >> endobj\n" * 20
OGG = b"OggS\x00\x02" + bytes(22) + b"\x01\x13OpusHead" + bytes(40)
EXE = b"MZ\x90\x00\x03" + bytes(200)  # a Windows program: no type we accept
PHONE = "+6281234567890"
OTHER_PHONE = "+6281277776666"
BOT_TOKEN = "123456:telegram-media-token"
TG_SECRET = "tg-media-secret"
WA_SECRET, WA_VERIFY, WA_TOKEN = "wa-app-secret", "wa-verify", "EAAG-wa-media-token"


def rows(svc) -> tuple[int, int]:
    """How many files, and how many contents, the store holds."""
    with svc.db.read() as s:
        return (s.scalar(select(func.count()).select_from(Attachment)),
                s.scalar(select(func.count()).select_from(AttachmentContent)))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---------------------------------------------------------------- what a file is


@pytest.mark.parametrize(("data", "expected"), [
    (PNG, "image/png"), (JPEG, "image/jpeg"), (b"GIF89a" + bytes(20), "image/gif"),
    (b"RIFF\x10\x00\x00\x00WEBPVP8 " + bytes(20), "image/webp"), (PDF, "application/pdf"), (OGG, "audio/ogg"),
    (b"ID3\x04\x00" + bytes(40), "audio/mpeg"), (b"\xff\xfb\x90\x00" + bytes(40), "audio/mpeg"),
    (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00" + bytes(20), "audio/mp4"),
    (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00" + bytes(20), "video/mp4"), (b"#!AMR\n" + bytes(30), "audio/amr"),
    ("saldo saya hilang\n余额不见了".encode(), "text/plain"), (EXE, None), (b"PK\x03\x04" + bytes(30), None),
    (b"\xff\xfe\x00\x01binary", None),
])
def test_the_bytes_decide_the_type(data, expected):
    assert sniff.sniff(data) == expected


def test_the_settings_allow_by_default_every_type_the_sniffer_knows():
    assert set(load_settings().attachment_types.split(",")) == set(sniff.TYPES) == set(Limits().types)
    with pytest.raises(SettingsError, match="ATTACHMENT_TYPES"):
        load_settings(attachment_types="image/png,image/svg+xml")


@pytest.mark.parametrize(("name", "content_type", "expected"), [
    ("receipt.png", "image/png", "receipt.png"),
    ("../../etc/passwd", "text/plain", "passwd.txt"),
    ("C:\\Users\\budi\\struk.JPG", "image/jpeg", "struk.jpg"),
    ("in\x00voice\u202egnp.pdf", "application/pdf", "invoicegnp.pdf"),  # NUL, a right-to-left override
    ('a"b;c\r\nd.pdf', "application/pdf", "a_b_cd.pdf"),
    (None, "audio/ogg", "attachment.ogg"), ("...", "image/gif", "attachment.gif"),
    ("x" * 500 + ".pdf", "application/pdf", "x" * 116 + ".pdf"),
    ("notes.csv", "text/plain", "notes.csv.txt"),
])
def test_a_kept_name_is_safe_bounded_and_says_what_the_file_is(name, content_type, expected):
    assert sniff.safe_name(name, content_type) == expected


def test_the_store_keeps_what_fits_and_refuses_the_rest_with_a_reason(svc):
    limits = Limits(max_bytes=4096, types=frozenset({"image/png", "application/pdf"}))
    store = AttachmentStore(svc.db, svc.clock, limits)

    kept = store.save(PNG, origin="chat", declared_type="image/png", name="struk.png")
    refusals = {}
    for label, data, declared, name in [
        ("big", PNG + bytes(5000), "image/png", "big.png"), ("exe", EXE, "application/pdf", "x.pdf"),
        ("ogg", OGG, "audio/ogg", "v.ogg"),  # a type we know, but not allowed here
        ("declared", PNG, "application/pdf", "receipt"), ("named", PNG, None, "receipt.pdf"), ("empty", b"", None, "e"),
    ]:
        with pytest.raises(Refused) as refused:
            store.save(data, origin="chat", declared_type=declared, name=name)
        refusals[label] = (refused.value.reason, refused.value.http_status)

    assert (kept.content_type, kept.kind, kept.name, kept.size) == ("image/png", "image", "struk.png", len(PNG))
    assert kept.sha256 == hashlib.sha256(PNG).hexdigest() and store.content(kept.id) == PNG
    assert refusals == {"big": ("too_large", 413), "exe": ("type_not_allowed", 415),
                        "ogg": ("type_not_allowed", 415), "declared": ("type_mismatch", 415),
                        "named": ("type_mismatch", 415), "empty": ("empty", 422)}
    assert rows(svc) == (1, 1)  # nothing of the refused files


def test_a_file_with_a_key_is_kept_once_and_unsent_uploads_are_swept(svc, clock, make_customer):
    customer = make_customer()
    first = svc.files.save(PDF, origin="email", origin_key="<m1@x>:0", name="a.pdf")
    again = svc.files.save(PDF, origin="email", origin_key="<m1@x>:0", name="a.pdf")
    upload = svc.files.save(PNG, origin="chat", customer_id=customer)
    assert first.id == again.id and rows(svc) == (2, 2)

    clock.advance(hours=25)
    assert svc.files.sweep_unsent() == 2
    assert rows(svc) == (0, 0) and svc.files.get(upload.id) is None


# ---------------------------------------------------------------- email


def a_mail(message_id: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "Budi <budi@example.com>", "care@gopay.test", "Struk"
    mail["Message-ID"] = message_id
    mail.set_content("Here are my receipt and a voice note.")
    mail.add_attachment(PNG, maintype="image", subtype="png", filename="struk.png")
    mail.add_attachment(OGG, maintype="audio", subtype="ogg", filename="suara.ogg")
    mail.add_attachment(PDF, maintype="image", subtype="jpeg", filename="photo.jpg")  # a PDF said to be a photo
    mail.add_attachment(EXE, maintype="application", subtype="octet-stream", filename="tool.exe")
    mail.add_attachment(PNG + bytes(3000), maintype="image", subtype="png", filename="huge.png")
    return mail


@pytest.fixture
def mail_svc(settings, clock, product_nlu) -> Iterator[Any]:
    with assisted_services(settings.model_copy(update={"attachment_max_bytes": 2048}), clock, product_nlu) as svc:
        svc.agents.create("lead@gopay.test", "supervisor")
        yield svc


def test_a_mails_files_are_stored_or_refused_with_a_reason_and_the_mail_is_kept(mail_svc):
    svc = mail_svc
    svc.email_inbound.take(a_mail("<files-1@mail.example.com>").as_bytes(), envelope_from="budi@example.com",
                           envelope_to=["care@gopay.test"])
    svc.email_inbound.take(a_mail("<files-1@mail.example.com>").as_bytes(), envelope_from="budi@example.com",
                           envelope_to=["care@gopay.test"])  # the same mail delivered again

    [message] = messages_in(svc)
    assert message.body == "Here are my receipt and a voice note."
    states = [(e["state"], e.get("name"), e.get("reason")) for e in message.attachments]
    assert states == [("stored", "struk.png", None), ("stored", "suara.ogg", None),
                      ("refused", "photo.jpg", "type_mismatch"), ("refused", "tool.exe", "type_not_allowed"),
                      ("refused", "huge.png", "too_large")]
    png, ogg = (svc.files.get(e["attachment_id"]) for e in message.attachments[:2])
    assert (png.content_type, png.message_id, ogg.content_type) == ("image/png", message.id, "audio/ogg")
    assert svc.files.content(png.id) == PNG
    assert rows(svc) == (2, 2)  # the second delivery kept nothing new


def messages_in(svc) -> list[Any]:
    """What customers sent, as the supervisor (lead@gopay.test) reads it on the desk."""
    lead = svc.desk.viewer(svc.agents.get_by_email("lead@gopay.test"))
    found = []
    for ticket in svc.desk.inbox.tickets(lead, TicketFilter()).items:
        found += [m for m in svc.desk.conversations.messages(lead, ticket.id) if m.direction == "in"]
    return sorted(found, key=lambda m: m.id)


# ---------------------------------------------------------------- providers' media


class Provider:
    """Telegram's Bot API and the WhatsApp Cloud API on one loopback server: messages are sent, and
    media are described (getFile, GET /{media-id}) and downloaded."""

    def __init__(self) -> None:
        self.files = {"photo-1": ("photos/file_1.jpg", JPEG), "voice-1": ("voice/file_2.oga", OGG),
                      "big-1": ("docs/big.pdf", PDF * 2000)}
        self.down = 0  # how many calls answer 502 before the provider is back
        self.unsized = False  # announce no size and no Content-Length (a server that lies by omission)

    def __call__(self, request) -> tuple[int, Any]:
        if request.path.endswith("/sendMessage") or request.path.endswith("/messages"):
            return 200, {"ok": True, "result": {"message_id": 1}, "messages": [{"id": "wamid.OUT"}]}
        if self.down:
            self.down -= 1
            return 502, {"ok": False, "description": "Bad Gateway"}
        if match := re.fullmatch(rf"/bot{re.escape(BOT_TOKEN)}/getFile\?file_id=([\w-]+)", request.path):
            if match.group(1) not in self.files:
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"}
            path, data = self.files[match.group(1)]
            size = {} if self.unsized else {"file_size": len(data)}
            return 200, {"ok": True, "result": {"file_id": match.group(1), "file_path": path, **size}}
        for path, data in self.files.values():
            if request.path == f"/file/bot{BOT_TOKEN}/{path}":
                return 200, Media(data, "application/octet-stream", length=not self.unsized)
        if match := re.fullmatch(r"/v21\.0/(\d+)", request.path):
            if request.headers.get("authorization") != f"Bearer {WA_TOKEN}":
                return 401, {"error": {"code": 190, "message": "Invalid OAuth access token."}}
            return 200, {"url": f"http://{request.headers['host']}/whatsapp/media/{match.group(1)}",
                         "mime_type": "audio/ogg", "file_size": len(OGG), "id": match.group(1)}
        if request.path.startswith("/whatsapp/media/"):
            if request.headers.get("authorization") != f"Bearer {WA_TOKEN}":
                return 401, {"error": {"code": 190}}
            return 200, Media(OGG, "audio/ogg")
        return 404, {"ok": False, "description": "Not Found"}


@pytest.fixture
def provider() -> Iterator[tuple[FakeApi, Provider]]:
    answers = Provider()
    with serve(answers) as api:
        yield api, answers


@pytest.fixture
def media_svc(settings, clock, provider, product_nlu) -> Iterator[Any]:
    api, _ = provider
    with assisted_services(settings.model_copy(update={
            "telegram_bot_token": BOT_TOKEN, "telegram_secret_token": TG_SECRET, "telegram_api_base": api.base_url,
            "whatsapp_app_secret": WA_SECRET, "whatsapp_verify_token": WA_VERIFY, "whatsapp_access_token": WA_TOKEN,
            "whatsapp_api_base": api.base_url, "attachment_max_bytes": 20_000}), clock, product_nlu) as services:
        services.agents.create("lead@gopay.test", "supervisor")
        yield services


@pytest.fixture
def media_client(media_svc) -> Iterator[Any]:
    with api_client(media_svc) as client:
        yield client


def telegram_media(client, update_id: int, kind: str, media: Any, caption: str | None = None) -> None:
    message = {"message_id": update_id, "date": 1_765_000_000, kind: media,
               "from": {"id": 7100, "is_bot": False, "first_name": "Budi"}, "chat": {"id": 7100, "type": "private"}}
    if caption:
        message["caption"] = caption
    answer = client.post("/webhooks/telegram", content=json.dumps({"update_id": update_id, "message": message}),
                         headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TG_SECRET})
    assert answer.status_code == 200 and answer.json()["stored"] == 1


def test_a_telegram_photo_is_fetched_after_the_message_is_stored_and_agents_download_it(
        media_svc, media_client, provider):
    api, _ = provider
    telegram_media(media_client, 1, "photo", [{"file_id": "small", "file_size": 10},
                                              {"file_id": "photo-1", "file_size": len(JPEG)}], caption="struk saya")

    [message] = messages_in(media_svc)
    [entry] = message.attachments
    assert (message.body, entry["state"], entry["type"], entry["content_type"]) == (
        "struk saya", "stored", "photo", "image/jpeg")
    fetched = [r.path for r in api.requests if r.method == "GET"]
    assert fetched == [f"/bot{BOT_TOKEN}/getFile?file_id=photo-1", f"/file/bot{BOT_TOKEN}/photos/file_1.jpg"]

    token = media_svc.agents.create_token("lead@gopay.test")
    listed = media_client.get(f"/api/v1/tickets/{message.ticket_id}/messages", headers=bearer(token)).json()
    [mine] = [m for m in listed["items"] if m["id"] == message.id]
    file_id = entry["attachment_id"]
    assert mine["files"] == [{"id": file_id, "state": "stored", "kind": "image", "content_type": "image/jpeg",
                              "name": "attachment.jpg", "size": len(JPEG), "url": f"/api/v1/attachments/{file_id}",
                              "reason": None}]
    download = media_client.get(mine["files"][0]["url"], headers=bearer(token))
    assert download.status_code == 200 and download.content == JPEG
    assert download.headers["content-type"] == "image/jpeg"
    assert download.headers["content-disposition"].startswith("inline;")  # an image shows in the page
    assert download.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in download.headers["content-security-policy"]


def test_media_too_large_is_refused_by_its_size_or_while_downloading_and_the_message_is_kept(
        media_svc, media_client, provider):
    api, answers = provider
    telegram_media(media_client, 2, "document", {"file_id": "big-1", "file_name": "rekening.pdf",
                                                 "mime_type": "application/pdf"}, caption="statement")
    answers.unsized = True  # the next one's size is not announced: the download stops past the limit
    telegram_media(media_client, 3, "document", {"file_id": "big-1", "file_name": "lagi.pdf"})

    announced, streamed = messages_in(media_svc)
    assert (announced.body, announced.attachments[0]["state"], announced.attachments[0]["reason"]) == (
        "statement", "refused", "too_large")
    assert (streamed.body, streamed.attachments[0]["state"], streamed.attachments[0]["reason"]) == (
        "[document]", "refused", "too_large")
    downloads = [r.path for r in api.requests if r.path.startswith("/file/")]
    assert downloads == [f"/file/bot{BOT_TOKEN}/docs/big.pdf"]  # only the one whose size was not known
    assert rows(media_svc) == (0, 0)


def test_a_provider_that_is_down_is_tried_again_later_through_the_job_queue(media_svc, media_client, provider):
    _, answers = provider
    answers.down = 1
    telegram_media(media_client, 4, "voice", {"file_id": "voice-1", "mime_type": "audio/ogg", "duration": 3})

    [message] = messages_in(media_svc)
    assert message.attachments[0]["state"] == "pending"
    [retry] = media_svc.huey.scheduled()  # the job failed and waits for its next try
    assert (retry.name, retry.args, retry.retries) == ("fetch_attachment", (message.id, 0), 4)

    [due] = media_svc.huey.read_schedule(retry.eta)  # its time has come: the provider is back
    media_svc.huey.execute(due, retry.eta)
    [message] = messages_in(media_svc)
    assert (message.attachments[0]["state"], message.attachments[0]["content_type"]) == ("stored", "audio/ogg")
    assert media_svc.media.fetch(message.id, 0) == "done"  # a job run again changes nothing
    assert rows(media_svc) == (1, 1) and media_svc.huey.scheduled() == []


def test_a_fetch_that_never_passes_is_recorded_failed_and_an_unknown_file_fails_at_once(
        media_svc, media_client, provider):
    _, answers = provider
    answers.down = 100
    telegram_media(media_client, 5, "voice", {"file_id": "voice-1"})
    [message] = messages_in(media_svc)
    assert media_svc.media.fetch(message.id, 0, last_try=True) == "failed"
    answers.down = 0
    telegram_media(media_client, 6, "photo", [{"file_id": "gone-1"}])

    first, gone = messages_in(media_svc)
    assert first.attachments[0]["state"] == "failed" and "502" in first.attachments[0]["error"]
    assert gone.attachments[0]["state"] == "failed" and BOT_TOKEN not in gone.attachments[0]["error"]
    # The unknown file was not tried again; only the first message's own retry was waiting
    assert [t.args for t in media_svc.huey.scheduled()] == [(message.id, 0)]


def test_a_whatsapp_voice_note_is_fetched_with_the_bearer_token(media_svc, media_client, provider):
    api, _ = provider
    payload = {"object": "whatsapp_business_account", "entry": [{"id": "WABA1", "changes": [{"field": "messages",
               "value": {"messaging_product": "whatsapp", "metadata": {"phone_number_id": "106540352242922"},
                         "messages": [{"from": PHONE.lstrip("+"), "id": "wamid.VOICE", "type": "audio",
                                       "audio": {"id": "998877", "mime_type": "audio/ogg; codecs=opus",
                                                 "voice": True}}]}}]}]}
    raw = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(WA_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    answer = media_client.post("/webhooks/whatsapp", content=raw,
                               headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature})
    assert answer.status_code == 200

    [message] = messages_in(media_svc)
    [entry] = message.attachments
    assert (message.body, entry["state"], entry["kind"], entry["content_type"]) == (
        "[audio]", "stored", "audio", "audio/ogg")
    assert media_svc.files.content(entry["attachment_id"]) == OGG
    media_calls = [r for r in api.requests if r.method == "GET"]
    assert [r.path for r in media_calls] == ["/v21.0/998877", "/whatsapp/media/998877"]
    assert all(r.headers["authorization"] == f"Bearer {WA_TOKEN}" for r in media_calls)


# ---------------------------------------------------------------- the live chat's uploads


@pytest.fixture
def chat(svc, client, make_customer, bot):
    svc._assistant = bot
    make_customer(phone=PHONE)
    make_customer(phone=OTHER_PHONE)

    def login(phone: str = PHONE) -> str:
        return client.post("/api/v1/auth/login", json={"login": phone, "password": PASSWORD}).json()["token"]

    return login


def upload(client, token: str, data: bytes, content_type: str = "image/png", name: str | None = "struk.png"):
    query = {"name": name} if name is not None else {}
    return client.post("/api/v1/me/attachments", params=query, content=data,
                       headers={**bearer(token), "Content-Type": content_type})


def test_a_customer_sends_a_photo_without_words_and_reads_it_back(svc, client, chat):
    token = chat()
    uploaded = upload(client, token, PNG)
    assert uploaded.status_code == 201
    file = uploaded.json()
    assert {k: file[k] for k in ("state", "kind", "content_type", "name", "size")} == {
        "state": "stored", "kind": "image", "content_type": "image/png", "name": "struk.png", "size": len(PNG)}
    assert client.get(file["url"], headers=bearer(token)).content == PNG  # theirs, not sent yet

    sent = client.post("/api/v1/me/assistant", json={"body": "", "attachments": [file["id"]]}, headers=bearer(token))
    assert sent.status_code == 200 and sent.json()["replies"] == []
    conversation_id = sent.json()["conversation_id"]
    [mine] = client.get(f"/api/v1/me/conversations/{conversation_id}/messages", headers=bearer(token)).json()["items"]
    assert mine["body"] == "" and [a["id"] for a in mine["attachments"]] == [file["id"]]
    assert mine["attachments"][0]["url"] == f"/api/v1/me/attachments/{file['id']}"
    assert svc.files.get(file["id"]).message_id == mine["id"]

    again = client.post("/api/v1/me/assistant", json={"body": "lagi", "attachments": [file["id"]]},
                        headers=bearer(token))
    assert again.status_code == 404  # already on a message: not theirs to send twice


def test_the_chat_socket_carries_uploads_and_a_resend_is_stored_once(svc, client, chat):
    token = chat()
    file_id = upload(client, token, OGG, "audio/ogg", "voice.ogg").json()["id"]
    with open_socket(client, "/api/v1/me/chat/ws", token) as ws:
        ws.send_json({"type": "message", "client_id": "v-1", "body": "", "attachments": [file_id]})
        got = [ws.receive_json() for _ in range(3)]  # the conversation, the ack, the message
        ws.send_json({"type": "message", "client_id": "v-1", "body": "", "attachments": [file_id]})  # a resend
        ack = ws.receive_json()
        ws.send_json({"type": "message", "client_id": "v-2", "body": "", "attachments": [file_id]})  # reuse
        reused = ws.receive_json()

    [message] = [f for f in got if f["type"] == "message"]
    assert message["attachments"][0]["id"] == file_id and message["attachments"][0]["kind"] == "audio"
    assert ack["type"] == "ack" and ack["client_id"] == "v-1"
    assert reused["type"] == "error" and reused["code"] == "not_found"
    assert len(messages_of(svc, message["conversation_id"])) == 1


def messages_of(svc, conversation_id: int) -> list[Any]:
    with svc.db.read() as s:
        return list(s.scalars(select(Message).where(Message.conversation_id == conversation_id)))


@pytest.mark.parametrize(("data", "content_type", "name", "status"), [
    (PNG + bytes(11 * 1024 * 1024), "image/png", "big.png", 413),
    (EXE, "application/octet-stream", "tool.exe", 415),
    (PDF, "image/png", "struk.png", 415),  # what it says it is, it is not
    (b"", "image/png", "empty.png", 422),
    (PNG, "image/png", "st\x00ruk.png", 422),
    (PNG, "image/png", "x" * 201, 422),
])
def test_a_refused_upload_answers_4xx_and_keeps_nothing(svc, client, chat, data, content_type, name, status):
    answer = upload(client, chat(), data, content_type, name)
    assert answer.status_code == status, answer.text
    assert rows(svc) == (0, 0)


def test_uploads_need_a_customer_and_are_bounded(svc, client, chat):
    token = chat()
    assert client.post("/api/v1/me/attachments", content=PNG).status_code == 401
    ids = [upload(client, token, PNG).json()["id"] for _ in range(svc.settings.attachment_max_unsent)]
    assert upload(client, token, PNG).status_code == 429
    too_many = client.post("/api/v1/me/assistant", json={"body": "x", "attachments": ids[:11]}, headers=bearer(token))
    assert too_many.status_code == 422
    for bad in (["1"], [0], [2**63], [True], "7", [None]):
        answer = client.post("/api/v1/me/assistant", json={"body": "x", "attachments": bad}, headers=bearer(token))
        assert answer.status_code == 422, (bad, answer.text)
    nothing = client.post("/api/v1/me/assistant", json={"body": "  ", "attachments": []}, headers=bearer(token))
    assert nothing.status_code == 422
    assert rows(svc) == (20, 20) and all(svc.files.get(i).message_id is None for i in ids)


# ---------------------------------------------------------------- who may download


def test_only_agents_who_may_open_the_ticket_and_only_its_customer_download_a_file(svc, client, chat):
    token, other = chat(), chat(OTHER_PHONE)
    file_id = upload(client, token, PDF, "application/pdf", "rekening 0812-3456-7890.pdf").json()["id"]
    sent = client.post("/api/v1/me/assistant", json={"body": "ini rekening saya", "attachments": [file_id]},
                       headers=bearer(token)).json()
    lead = svc.desk.viewer(svc.agents.create("lead@gopay.test", "supervisor"))
    ours, theirs = svc.agents.create("ayu@gopay.test", "agent"), svc.agents.create("eko@gopay.test", "agent")
    payments = svc.agents.create_team("Payments", areas=["transaction"], languages=["id"])
    cards = svc.agents.create_team("Cards", areas=["account"], languages=["id"])
    svc.agents.add_to_team(payments, ours.id)
    svc.agents.add_to_team(cards, theirs.id)
    svc.desk.tickets.assign(lead, sent["ticket_id"], agent_id=ours.id, team_id=payments)

    def agent_get(email: str, attachment_id: Any = file_id):
        return client.get(f"/api/v1/attachments/{attachment_id}", headers=bearer(svc.agents.create_token(email)))

    allowed, other_team, missing = agent_get("ayu@gopay.test"), agent_get("eko@gopay.test"), agent_get(
        "ayu@gopay.test", 999_999)
    assert allowed.status_code == 200 and allowed.content == PDF
    assert allowed.headers["content-disposition"].startswith("attachment;")  # a document is never shown inline
    assert other_team.status_code == missing.status_code == 404
    assert other_team.json()["error"]["message"] == missing.json()["error"]["message"]  # no existence oracle
    assert agent_get("lead@gopay.test").status_code == 200
    assert client.get(f"/api/v1/me/attachments/{file_id}", headers=bearer(token)).status_code == 200
    assert client.get(f"/api/v1/me/attachments/{file_id}", headers=bearer(other)).status_code == 404
    assert client.get(f"/api/v1/attachments/{file_id}", headers=bearer(token)).status_code == 401  # not an agent
    assert client.get(f"/api/v1/me/attachments/{file_id}").status_code == 401
    unsent = upload(client, other, PNG).json()["id"]  # an upload not sent yet: its owner's alone
    assert client.get(f"/api/v1/me/attachments/{unsent}", headers=bearer(other)).status_code == 200
    assert client.get(f"/api/v1/me/attachments/{unsent}", headers=bearer(token)).status_code == 404
    assert agent_get("lead@gopay.test", unsent).status_code == 404
    stolen = client.post("/api/v1/me/assistant", json={"body": "lihat", "attachments": [unsent]}, headers=bearer(token))
    assert stolen.status_code == 404 and svc.files.get(unsent).message_id is None

    # The agent's listing masks a phone number in the file's name
    messages = client.get(f"/api/v1/tickets/{sent['ticket_id']}/messages",
                          headers=bearer(svc.agents.create_token("ayu@gopay.test"))).json()["items"]
    [listed] = [m["files"][0] for m in messages if m["files"]]
    assert "3456-7890" not in listed["name"] and listed["id"] == file_id


@pytest.mark.parametrize("path", [
    f"/api/v1/attachments/{2**63}", "/api/v1/attachments/0", "/api/v1/attachments/-1", "/api/v1/attachments/x",
    "/api/v1/me/attachments/99999999999999999999999", "/api/v1/me/attachments/1?extra=1",
])
def test_hostile_download_paths_answer_4xx(svc, client, chat, path):
    svc.agents.create("lead@gopay.test", "supervisor")
    token = svc.agents.create_token("lead@gopay.test") if "/me/" not in path else chat()
    answer = client.get(path, headers=bearer(token))
    assert 400 <= answer.status_code < 500


# ---------------------------------------------------------------- WeChat and Messenger media

AMR = b"#!AMR\n" + bytes(range(60))


class WeChatAndCdn:
    """WeChat's token and media API (the first media call finds the token expired), and a CDN."""

    def __init__(self) -> None:
        self.tokens = 0

    def __call__(self, request) -> tuple[int, Any]:
        if request.path.startswith("/cgi-bin/token?"):
            self.tokens += 1
            return 200, {"access_token": f"TOKEN{self.tokens}", "expires_in": 7200}
        if request.path.startswith("/cgi-bin/media/get?"):
            if f"access_token=TOKEN{self.tokens}" not in request.path or self.tokens < 2:
                return 200, {"errcode": 40001, "errmsg": "invalid credential"}
            if "media_id=VOICE_1" in request.path:
                return 200, Media(AMR, "audio/amr", {"Content-Disposition": 'attachment; filename="VOICE_1.amr"'})
            return 200, {"errcode": 40007, "errmsg": "invalid media_id"}
        if request.path == "/cdn/receipt.jpg":
            return 200, Media(JPEG, "image/jpeg")
        return 404, {}


@pytest.fixture
def wechat_svc(settings, clock) -> Iterator[tuple[Any, FakeApi]]:
    from gopaycare.container import build

    with serve(WeChatAndCdn()) as api:
        services = build(settings.model_copy(update={
            "wechat_app_id": "wx-app", "wechat_app_secret": "wx-secret", "wechat_api_base": api.base_url,
            "messenger_app_secret": "fb-secret", "messenger_verify_token": "fb-verify"}),
            clock=clock, immediate_jobs=True, senders={})
        services.agents.create("lead@gopay.test", "supervisor")
        try:
            yield services, api
        finally:
            services.close()


def test_wechat_voice_and_a_messenger_image_are_fetched_and_an_expired_media_fails(wechat_svc):
    svc, api = wechat_svc
    for channel, identity, pid, entry in [
            ("wechat", "oVoice_123456", "1001", {"type": "voice", "provider_id": "VOICE_1"}),
            ("wechat", "oVoice_123456", "1002", {"type": "image", "provider_id": "OLD_1"}),
            ("messenger", "24680", "m_1", {"type": "image", "url": f"{api.base_url}cdn/receipt.jpg"})]:
        svc.desk.conversations.receive(channel=channel, identity_kind=channel, identity_value=identity, body="",
                                       provider_message_id=pid, attachments=[{**entry, "state": "pending"}])

    voice, expired, image = messages_in(svc)
    assert (voice.attachments[0]["state"], voice.attachments[0]["content_type"], voice.attachments[0]["name"]) == (
        "stored", "audio/amr", "VOICE_1.amr")
    assert expired.attachments[0]["state"] == "failed" and "40007" in expired.attachments[0]["error"]
    assert "TOKEN" not in expired.attachments[0]["error"]
    assert (image.attachments[0]["state"], image.attachments[0]["kind"]) == ("stored", "image")
    assert svc.files.content(image.attachments[0]["attachment_id"]) == JPEG
