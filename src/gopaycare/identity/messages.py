"""Texts sent to customers by SMS or email, in the three languages."""

from __future__ import annotations

CODE_PURPOSES = {
    "login": {"zh-CN": "登录", "en": "log in", "id": "masuk"},
    "password_reset": {"zh-CN": "重置密码", "en": "reset your password", "id": "atur ulang kata sandi"},
    "pin_reset": {"zh-CN": "重置PIN", "en": "reset your PIN", "id": "atur ulang PIN"},
    "step_up": {"zh-CN": "确认身份", "en": "confirm it is you", "id": "konfirmasi identitas"},
    "freeze": {"zh-CN": "冻结账户", "en": "freeze your account", "id": "membekukan akun"},
    "change_old": {"zh-CN": "更换联系方式", "en": "change your contact details", "id": "ganti data kontak"},
    "change_new": {"zh-CN": "绑定新的联系方式", "en": "confirm your new contact", "id": "konfirmasi kontak baru"},
}

MESSAGES = {
    "code_body": {
        "zh-CN": "【GoPay】您的验证码是 {code}，用于{purpose}，{minutes}分钟内有效。请勿告诉任何人，包括客服。",
        "en": "GoPay: your code is {code} to {purpose}. It expires in {minutes} minutes. "
              "Never share it with anyone, not even GoPay staff.",
        "id": "GoPay: kode Anda {code} untuk {purpose}. Berlaku {minutes} menit. "
              "Jangan berikan kode ini kepada siapa pun, termasuk petugas GoPay.",
    },
    "code_subject": {
        "zh-CN": "GoPay 验证码",
        "en": "Your GoPay verification code",
        "id": "Kode verifikasi GoPay Anda",
    },
}
