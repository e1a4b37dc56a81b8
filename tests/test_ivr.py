"""The phone line's pieces on their own, without a server or a database: the voice menu's state
machine, Twilio's signature, TwiML, and reading a PBX's CTI events."""

from __future__ import annotations

import json
import re
from xml.etree.ElementTree import fromstring

import pytest

from gopaycare.channels import cti, ivr, twilio_signature, twilio_voice
from gopaycare.channels.ivr import AREA_KEYS, Call, Line, Standing, State
from gopaycare.platform.errors import PermissionDenied, Unauthenticated, ValidationFailed

OPEN = Line(standing=Standing.CUSTOMER, open=True)
CLOSED = Line(standing=Standing.CUSTOMER, open=False)
CJK = re.compile(r"[\u4e00-\u9fff]")


def sentences(step: ivr.Step) -> list[str]:
    return [prompt.sentence() for prompt in step.prompts]


def walk(line: Line, *keys: str) -> ivr.Step:
    """The caller presses `keys` one after the other from the greeting."""
    step = ivr.start(line)
    for key in keys:
        assert isinstance(step.action, ivr.Gather), step
        step = ivr.press(step.action.then, key, line)
    return step


# ---------------------------------------------------------------- the state machine


def test_the_greeting_offers_each_language_in_itself():
    step = ivr.start(Line())

    assert [(p.key, p.language, p.digit) for p in step.prompts] == [
        ("welcome", "zh-CN", "1"), ("welcome", "en", "2"), ("welcome", "id", "3")]
    assert step.action == ivr.Gather(Call(State.LANGUAGE)) and step.outcome is None
    said = sentences(step)
    assert CJK.search(said[0]) and "English" in said[1] and "Bahasa Indonesia" in said[2]


@pytest.mark.parametrize(("key", "language", "word"), [("1", "zh-CN", "账户和登录"), ("2", "en", "account and login"),
                                                        ("3", "id", "akun dan login")])
def test_a_language_key_opens_the_menu_of_the_five_areas_in_that_language(key, language, word):
    step = walk(OPEN, key)

    assert step.action == ivr.Gather(Call(State.MENU, language))
    items = [p for p in step.prompts if p.key == "menu_item"]
    assert [(p.digit, p.area) for p in items] == list(AREA_KEYS.items())
    assert {p.language for p in step.prompts} == {language}
    assert word in sentences(step)[0]
    assert step.prompts[-1].key == "menu_repeat"


@pytest.mark.parametrize(("standing", "first"), [(Standing.LOCKED, "account_locked"),
                                                 (Standing.FROZEN, "account_frozen")])
def test_a_locked_or_frozen_account_hears_it_first_and_only_once(standing, first):
    line = Line(standing=standing, open=True)

    menu = walk(line, "2")
    again = ivr.press(menu.action.then, "9", line)
    wrong = ivr.press(menu.action.then, "7", line)

    assert menu.prompts[0].key == first and menu.prompts[1].key == "menu_item"
    assert "GoPay account registered to this number" in menu.prompts[0].sentence()
    assert first not in [p.key for p in again.prompts + wrong.prompts]


def test_an_ordinary_caller_hears_the_menu_straight_away():
    assert walk(OPEN, "2").prompts[0].key == "menu_item"
    assert walk(Line(standing=Standing.UNKNOWN), "2").prompts[0].key == "menu_item"


def test_an_area_in_opening_hours_offers_an_agent_or_a_callback():
    step = walk(OPEN, "2", "3")

    assert step.action == ivr.Gather(Call(State.OPTIONS, "en", "refund_dispute"))
    assert [(p.key, p.digit) for p in step.prompts] == [("options_agent", "1"), ("options_callback", "2")]


def test_an_agent_puts_the_caller_in_the_areas_queue_and_files_a_transfer():
    step = walk(OPEN, "2", "1", "1")

    assert step.action == ivr.Enqueue("gopaycare-account", Call(State.QUEUED, "en", "account"))
    assert step.outcome == ivr.Outcome("transfer", "en", "account", "gopaycare-account")
    assert [p.key for p in step.prompts] == ["transfer"]


def test_a_callback_thanks_the_caller_and_hangs_up():
    step = walk(OPEN, "3", "2", "2")

    assert step.action == ivr.Hangup()
    assert step.outcome == ivr.Outcome("callback", "id", "transaction")
    assert "menelepon balik" in step.prompts[0].sentence()


def test_a_withheld_number_is_not_offered_a_callback():
    line = Line(reachable=False, open=True)

    assert walk(line, "2", "4").outcome == ivr.Outcome("transfer", "en", "tech_support", "gopaycare-tech_support")
    options = ivr.press(Call(State.OPTIONS, "en", "promotion"), "2", line)
    assert options.outcome is None and options.prompts[0].key == "invalid"


def test_after_hours_the_caller_leaves_a_voicemail_that_files_a_callback():
    step = walk(CLOSED, "1", "5")

    assert [p.key for p in step.prompts] == ["closed", "voicemail"]
    assert step.action == ivr.Record(Call(State.VOICEMAIL, "zh-CN", "promotion"))
    assert step.outcome is None  # nothing is filed until the recording ends

    done = ivr.recorded(step.action.then, CLOSED)
    assert done.action == ivr.Hangup() and done.outcome == ivr.Outcome("voicemail", "zh-CN", "promotion")


def test_after_hours_a_withheld_number_is_told_to_call_again():
    step = walk(Line(reachable=False, open=False), "2", "1")

    assert [p.key for p in step.prompts] == ["closed", "no_callback_number"]
    assert step.action == ivr.Hangup() and step.outcome is None


def test_wrong_keys_ask_again_and_then_go_on_with_the_defaults():
    first = walk(OPEN, "7")
    assert first.action == ivr.Gather(Call(State.LANGUAGE, tries=1))
    # No key three times: the customer's own language, else zh-CN
    silent = walk(Line(language="id"), "", "", "")
    assert silent.action == ivr.Gather(Call(State.MENU, "id"))
    assert walk(Line(), "", "", "").action == ivr.Gather(Call(State.MENU, "zh-CN"))
    # A wrong area says so and repeats; three times lands in the general area
    wrong = walk(OPEN, "2", "0")
    assert wrong.prompts[0].key == "invalid" and wrong.action == ivr.Gather(Call(State.MENU, "en", tries=1))
    assert walk(OPEN, "2", "0", "0", "0").action == ivr.Gather(Call(State.OPTIONS, "en", "general"))
    # Undecided between agent and callback: an agent
    assert walk(OPEN, "2", "1", "", "", "").outcome.kind == "transfer"


@pytest.mark.parametrize("digits", ["12", "#", "*", "", "\x00", "9" * 50])
def test_odd_keys_are_wrong_keys(digits):
    step = ivr.press(Call(State.MENU, "en"), digits, OPEN)
    assert step.outcome is None and isinstance(step.action, ivr.Gather)


def test_leaving_the_queue_unserved_files_an_abandoned_call():
    queued = Call(State.QUEUED, "en", "transaction")

    assert ivr.left_queue(queued, "bridged", OPEN) == ivr.Step((), ivr.Hangup())
    gone = ivr.left_queue(queued, "hangup", OPEN)
    assert gone.prompts == () and gone.outcome == ivr.Outcome("abandoned", "en", "transaction",
                                                              "gopaycare-transaction")
    full = ivr.left_queue(queued, "queue-full", OPEN)
    assert full.prompts[0].key == "queue_busy" and full.outcome.kind == "abandoned"
    assert ivr.left_queue(queued, "error", Line(reachable=False)).prompts[0].key == "busy_call_again"


def test_the_call_travels_in_a_query_and_nonsense_starts_over():
    call = Call(State.OPTIONS, "id", "account", 2)

    assert Call.from_query(call.query()) == call
    assert Call.from_query({}) is None
    for query in ({"s": "menu"}, {"s": "options", "l": "en"}, {"s": "menu", "l": "fr"}, {"s": "x"},
                  {"s": "menu", "l": "en", "t": "9"}, {"s": "menu", "l": "en", "t": "-1"},
                  {"s": "options", "l": "en", "a": "casino"}, {"s": "menu", "l": "en", "t": "1" * 5000}):
        assert Call.from_query(query) is None, query


# ---------------------------------------------------------------- Twilio's signature

SDK_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
SDK_PARAMS = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675309"), ("Digits", "1234"),
              ("From", "+14158675309"), ("To", "+18005551212")]
SDK_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="  # the twilio SDKs' own test vector (token 12345)


def test_the_signature_is_twilios():
    assert twilio_signature.compute("12345", SDK_URL, SDK_PARAMS) == SDK_SIGNATURE
    twilio_signature.check("12345", SDK_URL, list(reversed(SDK_PARAMS)), SDK_SIGNATURE)  # order does not matter
    # Twilio has signed https URLs with and without :443
    twilio_signature.check("12345", SDK_URL.replace(".com/", ".com:443/"), SDK_PARAMS, SDK_SIGNATURE)


def test_a_wrong_or_missing_signature_is_refused():
    with pytest.raises(Unauthenticated):
        twilio_signature.check("12345", SDK_URL, SDK_PARAMS, None)
    for url, params, token in ((SDK_URL + "&x=1", SDK_PARAMS, "12345"), (SDK_URL, SDK_PARAMS[:-1], "12345"),
                               (SDK_URL, [*SDK_PARAMS, ("Digits", "9")], "12345"), (SDK_URL, SDK_PARAMS, "54321"),
                               (SDK_URL.replace("https", "http"), SDK_PARAMS, "12345")):
        with pytest.raises(PermissionDenied):
            twilio_signature.check(token, url, params, SDK_SIGNATURE)


def test_behind_a_proxy_the_public_address_is_the_signed_one():
    assert twilio_signature.signed_url(None, "http://10.0.0.5:8000/webhooks/twilio/voice?s=menu",
                                       "/webhooks/twilio/voice", "s=menu") == \
        "http://10.0.0.5:8000/webhooks/twilio/voice?s=menu"
    assert twilio_signature.signed_url("https://care.example.com/", "http://10.0.0.5:8000/webhooks/twilio/voice",
                                       "/webhooks/twilio/voice", "") == "https://care.example.com/webhooks/twilio/voice"


# ---------------------------------------------------------------- TwiML


def test_a_menu_step_is_a_gather_saying_each_sentence_in_its_language():
    urls = twilio_voice.Urls("https://care.example.com/webhooks/twilio/voice")
    doc = fromstring(twilio_voice.render(walk(OPEN, "1"), urls))

    [gather] = doc
    assert gather.tag == "Gather" and gather.get("numDigits") == "1" and gather.get("actionOnEmptyResult") == "true"
    assert gather.get("action") == "https://care.example.com/webhooks/twilio/voice/gather?s=menu&l=zh-CN"
    says = list(gather)
    assert {say.get("language") for say in says} == {"zh-CN"} and CJK.search(says[0].text)


def test_the_greeting_says_each_language_with_its_own_voice_and_relative_urls():
    doc = fromstring(twilio_voice.render(ivr.start(Line()), twilio_voice.Urls("/webhooks/twilio/voice")))

    assert [say.get("language") for say in doc[0]] == ["zh-CN", "en-US", "id-ID"]
    assert doc[0].get("action") == "/webhooks/twilio/voice/gather?s=language"


def test_a_voicemail_records_with_a_transcription_and_ends_the_call_either_way():
    doc = fromstring(twilio_voice.render(walk(CLOSED, "2", "1"), twilio_voice.Urls("/v")))

    assert [child.tag for child in doc] == ["Say", "Say", "Record", "Redirect"]
    record = doc[2]
    assert record.get("transcribe") == "true" and record.get("transcribeCallback") == "/v/transcription"
    assert record.get("action") == "/v/recording?s=voicemail&l=en&a=account" == doc[3].text
    assert record.get("finishOnKey") == "#" and record.get("maxLength") == "120"


def test_a_transfer_enqueues_and_comes_back_when_the_caller_leaves():
    doc = fromstring(twilio_voice.render(walk(OPEN, "2", "2", "1"), twilio_voice.Urls("/v")))

    assert [child.tag for child in doc] == ["Say", "Enqueue"]
    assert doc[1].text == "gopaycare-transaction"
    assert doc[1].get("action") == "/v/queue?s=queued&l=en&a=transaction"


def test_texts_are_escaped_in_twiml():
    say = twilio_voice._say(ivr.Prompt("menu_item", "en", digit="<&>", area="account"))
    assert say.text == "For account and login, press <&>."
    assert "&lt;&amp;&gt;" in twilio_voice._document(say)


# ---------------------------------------------------------------- reading a PBX's events


def test_a_cti_event_is_read_from_a_form_or_json():
    form = b"event=newCall&from=6281234567890&to=62215550000&direction=in&callId=abc-1&user%5B%5D=Ayu&user%5B%5D=Budi"
    [ringing] = cti.GenericCti("t" * 16).events("t" * 16, form, "application/x-www-form-urlencoded")
    assert (ringing.kind, ringing.call_id, ringing.caller, ringing.line, ringing.agent) == (
        "ringing", "abc-1", "6281234567890", "62215550000", "Ayu")

    body = json.dumps({"event": "hangup", "from": "62215550000", "to": "+6281234567890", "direction": "out",
                       "callId": "f4ebd2be-7b9a", "user": "Ayu", "cause": "cancel"}).encode()
    [ended] = cti.GenericCti("t" * 16).events("t" * 16, body, "application/json")
    assert (ended.kind, ended.caller, ended.direction, ended.cause) == ("ended", "+6281234567890", "out", "cancel")


def test_a_cti_event_is_read_from_multipart_form_data():
    boundary = "XyZ"
    parts = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                    for k, v in (("event", "answer"), ("from", "anonymous"), ("to", "0215550000"),
                                 ("direction", "in"), ("callId", "42"), ("answeringNumber", "ayu@gopay.test")))
    raw = (parts + f"--{boundary}--\r\n").encode()
    [answered] = cti.GenericCti("t" * 16).events("t" * 16, raw, f"multipart/form-data; boundary={boundary}")
    assert (answered.kind, answered.caller, answered.agent) == ("answered", "anonymous", "ayu@gopay.test")


def test_a_wrong_token_or_a_broken_event_is_refused():
    hook = cti.GenericCti("t" * 16)
    with pytest.raises(PermissionDenied):
        hook.events("u" * 16, b"event=newCall", None)
    for body in (b"event=ring&direction=in&callId=1", b"event=newCall&direction=up&callId=1",
                 b"event=newCall&direction=in", b"event=newCall&direction=in&callId=" + b"x" * 300,
                 b"event=newCall&direction=in&callId=a%20b", b"[1,2]", b"{\"event\": [1]}", b"\xff\xfe",
                 b"&".join([b"a=1"] * 500)):
        with pytest.raises(ValidationFailed):
            hook.events("t" * 16, body, None)


def test_odd_cti_fields_are_dropped_not_trusted():
    body = json.dumps({"event": "hangup", "direction": "in", "callId": 7, "from": ["x"], "to": "0\x00215",
                       "user": [1, "Ayu\x00", "x" * 500], "cause": "explosion", "queue": {"a": 1},
                       "answeringNumber": 10**40}).encode()
    [event] = cti.GenericCti("t" * 16).events("t" * 16, body, "application/json")
    assert (event.call_id, event.caller, event.line, event.cause, event.queue) == ("7", "", "0215", "other", None)
    assert event.agent == "Ayu"
