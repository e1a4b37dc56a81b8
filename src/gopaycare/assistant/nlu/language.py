"""Which of the assistant's languages a customer message is in: zh-CN, en or id.

Customers mix languages, abbreviate and misspell ("saldo sy blm masuk", "app一直闪退", "pls refund
dong"), and many messages are a word or two long, so the rule is simple and explainable rather than
statistical:

* Chinese when the message has Han characters beyond a couple in otherwise Latin text: three or more,
  or at least as many as there are Latin words ("你好", "OTP没收到", "app一直闪退").
* Otherwise Indonesian against English by weighted lexicons of function words, pronouns and wallet
  slang, with Indonesian affixes (-nya, -kan, di-/ter-/ke- on a known stem: "saldonya", "dipotong",
  "direfund") counting for Indonesian and weak English endings (-ing, -ed, -tion, -ly) for English.
  Loanwords both languages use in GoPay talk (top up, refund, cashback, OTP, app, login, transfer,
  pending...) count for neither.
* A tie (including no evidence at all: "refund", "OTP", "ok") goes to `hint` (the conversation's
  language so far) or, without one, to English.

Text is folded with `platform.text.normalize` first (full-width, case, Traditional characters).
"""

from __future__ import annotations

import re

from ...platform.text import normalize

LANGUAGES = ("zh-CN", "en", "id")

# Han ideographs, the ranges platform.text uses.
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
# Latin words, keeping the apostrophe of can't / jum'at; digits around letters are dropped ("masuk2",
# "50rb"), tokens with digits inside (GP2611251A2B3C) are not words.
_TOKEN = re.compile(r"[a-z0-9]+(?:['’][a-z0-9]+)*")
_WORD = re.compile(r"\d*([a-z][a-z'’]*)\d*")
_LONG_RUN = re.compile(r"(.)\1{2,}")
_ANY_RUN = re.compile(r"(.)\1+")


def _weights(groups: dict[float, str]) -> dict[str, float]:
    return {word: weight for weight, words in groups.items() for word in words.split()}


# Indonesian (with Jakarta chat slang). Weight 2: words an English message would not contain.
_ID = _weights({
    2.0: """
        saya sy aku gw gue gua ane kamu anda lu lo elo kami kita
        gak ga gk gx ngga nggak enggak engga nggk ndak tidak tdk tak bukan
        belum blm blom sudah udah udh sdh dah
        dong donk deh sih kok nih tuh kan lah yah
        kak kakak ka min mimin gan sis bang pak bu mas mbak mba
        kenapa knp napa kenpa gimana gmn gmna bagaimana bgmn gimna
        tolong tlg mohon bantu bantuin dibantu bantuan
        mau pengen pingin ingin bisa bs gabisa gbs
        saldo uang duit bayar dibayar membayar pembayaran gagal masuk akun kode lupa dana
        banget bgt aja doang padahal tapi tp tetapi yang yg dan untuk utk buat dengan dgn
        ini itu ada apa kapan berapa brp sampai sampe terus trs lagi lg juga jg dari
        karena krn soalnya kalau kalo klo jika agar supaya biar atau
        halo hallo helo hai terima kasih terimakasih makasih makasi mksh trims tks
        selamat pagi siang sore malam permisi
        transaksi terpotong kepotong dipotong potongan potong kembali dikembalikan balikin kembaliin
        kirim dikirim terkirim tarik penarikan nomor nomer hilang ilang berhasil sukses diproses
        sekarang skrg tadi barusan kemarin kemaren kmrn kmarin besok lusa hari bulan minggu tahun
        pesanan pembelian beli isi tagihan rekening rek kartu pulsa listrik pinjam cicilan
        tetap masih msh harus hrs cara ganti ubah hapus tutup buka blokir diblokir terblokir
        dibobol ditipu penipuan tipu salah benar bener betul mana siapa gimana
        tunggu nunggu lama cepat cepet sering penting pusing udahan mending
        uangku saldoku akunku tiba keluar jadi kali sekali gitu begitu gini begini
        aplikasi verifikasi nggak akan sedang lagi punya pakai pake dipake tukar
        tanya nanya bertanya ngecek dicek mengapa belom blum di ke sama iya ngirim mengirim
        turun naik nambah bertambah berkurang kurang dapet dapat cair dicairkan bales balas nyampe
    """,
    # Chat shortcuts and typos of the words above ("pembayran sya gagl trus"): no English word.
    1.5: """
        sya saia sayah gw aq akuh gagl ggl gagall gaga trus truss trs mulu mlu melulu
        pembayran pembyaran pmbyran pmbayaran pembayarn pmbyaran byr bayr byar bayarnya
        sldo saldoo sld msk msuk masuuk blom blum lpa lupaa kluar klr sndiri sendri aplksi aplikasinya
        blikin mnt minta tlng tlong akn akunn krm kirm trnsaksi transakasi trnsfer brhasil berhasill
        brapa brpa dmn kpn mlh bnr jd aj cm cuma cmn bln hri ntar nnt skrng sekrang kmaren td tdi bngt
        dpt knapa knpa napa udhh sdah blum ditolak tolakk nyangkut ketahan kepotong dpotong
    """,
    1.0: """
        jam jumat sabtu senin selasa rabu kamis ahad ktp hp wa p mantap sip rb ribu jt juta
    """,
    0.5: "ya",
})

# English. Weight 2: words an Indonesian message would not contain.
_EN = _weights({
    2.0: """
        i i'm im i've ive i'd my me mine myself you your yours we our they their he she
        the is are was were am been being isn't isnt aren't wasn't wasnt weren't
        not can't cant cannot couldn't couldnt won't wont don't dont didn't didnt doesn't doesnt
        haven't havent hasn't hasnt
        money payment pay paid account why how what when where which who whom whose
        it its it's this that these those to from for of on at with and or but
        have has had do does did can could would should will shall may might must
        still yet already got get getting gotten received receive receiving
        balance deducted charged charge failed fail failure wrong transaction transactions
        coming come came working work works worked send sent sending forgot forget password phone number code
        change changed blocked locked cancel cancelled canceled twice double back need want wanted
        hours hour days day ago today yesterday tomorrow since problem issue yes nothing anything
        something there here just only even also again now lost missing disappeared
        never always keep keeps stuck wait waiting waited tried try trying because if than then
        after before morning night week month someone hacked scam scammed fraud
        bought buy purchase card new been by about into out whats what's
        refunded reversed arrived arrive withdraw withdrawal there dear sir madam team
    """,
    1.5: "please pls plz in",
    1.0: "so as be an hi hello hey help thanks thank yes",
    0.5: "a sorry thx",
})

# Said in both languages in GoPay talk: evidence for neither.
_NEUTRAL = frozenset("""
    top up topup refund refunds cashback otp app apps apk login log logout signin sign gopay gojek gofood
    goride gocar gosend gomart gopaylater paylater promo voucher pin transfer cash bank bca bri bni mandiri
    qris email admin cs error whatsapp merchant online offline scan update upgrade ok okay oke
    pending status customer service id premier plus coins coin point poin no ref invoice order via
    otw asap btw tf
""".split())

# Stems an Indonesian affix attaches to ("dipotong", "ditransfer", "saldonya", "refundnya").
_ID_STEMS = frozenset("""
    bayar potong kirim tarik proses blokir kembali isi beli masuk tipu bobol bantu ganti hapus tutup buka
    pinjam tagih transfer refund topup cek login update verifikasi scan saldo akun uang duit kode pesan
    hilang tahan batal balik tunggu pakai pake kasih terima tanya
""".split())
_ID_PREFIXES = ("nge", "di", "ter", "ke", "ber", "meng", "mem", "men", "me", "peng", "pem", "pen", "pe", "ng")
_ID_SUFFIXES = ("nya", "kan", "in", "an", "ku", "mu", "lah", "kah", "i")


def canonical(lang: str | None) -> str | None:
    """One of LANGUAGES for a language tag as clients send it ("zh", "zh-TW", "ID", "en-US"), else None."""
    tag = (lang or "").strip().lower().replace("_", "-")
    if not tag:
        return None
    primary = tag.split("-")[0]
    if primary == "zh":
        return "zh-CN"
    if primary in ("id", "in"):
        return "id"
    if primary == "en":
        return "en"
    return None


def _variants(word: str) -> tuple[str, ...]:
    """The word and the word with letters repeated for emphasis squeezed ("pleaseee", "dongg")."""
    return (word, _LONG_RUN.sub(r"\1", word), _LONG_RUN.sub(r"\1\1", word), _ANY_RUN.sub(r"\1", word))


def _affixed_indonesian(word: str) -> bool:
    if len(word) < 5:
        return False
    for prefix in ("",) + _ID_PREFIXES:
        if not word.startswith(prefix):
            continue
        rest = word[len(prefix):]
        if rest in _ID_STEMS and prefix:
            return True
        for suffix in _ID_SUFFIXES:
            if rest.endswith(suffix) and rest[: -len(suffix)] in _ID_STEMS:
                return True
    return False


def _word_scores(word: str) -> tuple[float, float]:
    """(Indonesian, English) evidence of one Latin word."""
    word = word.replace("’", "'")
    for variant in _variants(word):
        if variant in _NEUTRAL:
            return 0.0, 0.0
        if variant in _ID or variant in _EN:
            return _ID.get(variant, 0.0), _EN.get(variant, 0.0)
    if _affixed_indonesian(word):
        return 1.5, 0.0
    if len(word) >= 5 and word.endswith("nya"):
        return 1.5, 0.0
    if len(word) >= 6 and word.endswith("kan"):
        return 1.0, 0.0
    if len(word) >= 5 and word.endswith(("ing", "ed", "tion", "ly")):
        return 0.0, 0.5
    return 0.0, 0.0


def scores(text: str) -> dict[str, float]:
    """The evidence `detect` weighs: Han characters, Latin words, and the two lexicon scores."""
    folded = normalize(text)
    words = [m.group(1) for t in _TOKEN.findall(folded) if (m := _WORD.fullmatch(t))]
    indonesian = english = 0.0
    for word in words:
        i, e = _word_scores(word)
        indonesian += i
        english += e
    return {"han": float(len(_HAN.findall(folded))), "latin_words": float(len(words)),
            "id": indonesian, "en": english}


# Chinese surnames, most common first: a short Han run starting with one is read as a person's name
# ("my name is 王小明", "王小明" as the answer to "your name?") when no Chinese word is around it.
_SURNAMES = frozenset("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏"
                      "吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵"
                      "万钱严覃武戴莫孔向汤")
# Characters of everyday Chinese sentences that names do not use: a run with one of them is words.
_NOT_NAME = frozenset("的了吗呢吧啊呀么没不是在有我你他她它们这那什怎为到钱付款退账户码失败登录转人工谢好请帮要想能会"
                      "可以就还都也和跟给被把让再已经过来去说看用充值余额交易卡号手机密锁冻结问题怎样多少")
_HAN_RUN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def _name_like(run: str) -> bool:
    return 2 <= len(run) <= 4 and run[0] in _SURNAMES and not (set(run) & _NOT_NAME)


def _without_names(text: str, hint: str | None) -> str:
    """The text with Han names left out, when the conversation so far is in English or Indonesian or
    the name sits in Latin text: a Chinese name typed in an en/id chat is not Chinese."""
    folded = normalize(text)
    runs = _HAN_RUN.findall(folded)
    if not runs or not all(_name_like(run) for run in runs):
        return text
    latin = bool(_TOKEN.search(_HAN_RUN.sub(" ", folded)))
    if latin or canonical(hint) in ("en", "id"):
        return _HAN_RUN.sub(" ", folded)
    return text


def detect(text: str, hint: str | None = None) -> str:
    """"zh-CN", "en" or "id" for a customer message; a tie goes to `hint`, else to English."""
    s = scores(_without_names(text, hint))
    if s["han"] >= 3 or (s["han"] > 0 and s["han"] >= s["latin_words"]):
        return "zh-CN"
    if s["id"] > s["en"]:
        return "id"
    if s["en"] > s["id"]:
        return "en"
    return canonical(hint) or "en"
