"""Everything the assistant says, in zh-CN (default), en and id. Amounts and times are filled in
from real account state by the flows; nothing here is a canned answer about a customer."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from ..platform.i18n import STATUS_AND_TIER_WORDS, format_rupiah, normalize_language, render, short_date

T: dict[str, dict[str, str]] = {
    # ---------------------------------------------------------------- general
    "greeting": {
        "zh-CN": "您好，我是GoPay智能客服。请告诉我遇到了什么问题，例如：付款失败、登录不了、申请退款、App闪退、返现没到账。",
        "en": "Hi, I'm the GoPay assistant. Tell me what went wrong, e.g. a failed payment, login trouble, "
              "a refund, the app crashing or a missing cashback.",
        "id": "Halo, saya asisten GoPay. Ceritakan masalahnya, misalnya pembayaran gagal, tidak bisa masuk, "
              "refund, aplikasi keluar sendiri, atau cashback belum masuk.",
    },
    "thanks": {
        "zh-CN": "不客气！还有其他可以帮您的吗？", "en": "You're welcome! Anything else I can do?",
        "id": "Sama-sama! Ada lagi yang bisa saya bantu?",
    },
    "goodbye": {
        "zh-CN": "感谢您使用GoPay，祝您生活愉快，再见！", "en": "Thanks for using GoPay. Have a good day, bye!",
        "id": "Terima kasih sudah menggunakan GoPay. Sampai jumpa!",
    },
    "cancelled": {
        "zh-CN": "好的，已取消。还有什么可以帮您？", "en": "OK, cancelled. Anything else I can help with?",
        "id": "Baik, dibatalkan. Ada lagi yang bisa saya bantu?",
    },
    "clarify": {
        "zh-CN": "我想确认一下：您是想问「{a}」还是「{b}」？", "en": "Just to be sure: do you mean \"{a}\" or \"{b}\"?",
        "id": "Supaya tepat: maksud Anda \"{a}\" atau \"{b}\"?",
    },
    "fallback": {
        "zh-CN": "抱歉，我没完全理解。可以换个说法吗？也可以回复「转人工」联系客服。",
        "en": "Sorry, I didn't quite get that. Could you say it another way? You can also type \"agent\" for a person.",
        "id": "Maaf, saya belum paham. Bisa dijelaskan dengan kata lain? Ketik \"agen\" untuk bicara dengan CS.",
    },
    "fallback_article": {
        "zh-CN": "这篇帮助文章可能有用：《{title}》\n{snippet}",
        "en": "This help article may answer it: \"{title}\"\n{snippet}",
        "id": "Artikel bantuan ini mungkin menjawabnya: \"{title}\"\n{snippet}",
    },
    "cite": {"zh-CN": "（参考：《{title}》）", "en": "(Source: \"{title}\")", "id": "(Sumber: \"{title}\")"},
    "handoff": {
        "zh-CN": "正在为您转接人工客服，预计等待约{minutes}分钟。客服会看到我们刚才的对话，您不用重复说明。",
        "en": "I'm handing you to an agent; the expected wait is about {minutes} min. They will see our "
              "conversation, so you won't need to repeat yourself.",
        "id": "Saya sambungkan ke agen CS; perkiraan menunggu sekitar {minutes} menit. Agen akan melihat "
              "percakapan ini, jadi Anda tidak perlu mengulang.",
    },
    "with_agent": {
        "zh-CN": "您的问题已在人工客服处理中，请稍候。", "en": "An agent is on your case; please hold on.",
        "id": "Agen CS sedang menangani kasus Anda, mohon ditunggu.",
    },
    "anything_else": {
        "zh-CN": "还有其他问题吗？", "en": "Anything else?", "id": "Ada hal lain?",
    },
    "need_identify": {
        "zh-CN": "为了查看您的账户，请先发送您注册GoPay的手机号。",
        "en": "To look at your account, please send the phone number registered with GoPay.",
        "id": "Untuk melihat akun Anda, kirim nomor HP yang terdaftar di GoPay.",
    },
    "identify_code_sent": {
        "zh-CN": "验证码已发送到 {to}，请在这里回复6位验证码（请勿发送密码或PIN）。",
        "en": "I sent a code to {to}. Reply here with the 6 digits (never send your password or PIN).",
        "id": "Kode sudah dikirim ke {to}. Balas di sini dengan 6 digit kodenya (jangan kirim kata sandi/PIN).",
    },
    "identify_unknown": {
        "zh-CN": "没有找到这个手机号注册的账户，请确认号码。", "en": "I can't find an account with that number; please check it.",
        "id": "Akun dengan nomor itu tidak ditemukan, mohon cek lagi.",
    },
    "identified": {
        "zh-CN": "验证成功。", "en": "Thanks, you're verified.", "id": "Terima kasih, verifikasi berhasil.",
    },
    "code_wrong": {
        "zh-CN": "验证码不正确，还可以再试{left}次。", "en": "That code is not right; {left} tries left.",
        "id": "Kodenya salah; sisa {left} kali percobaan.",
    },
    "code_expired": {
        "zh-CN": "验证码已失效，我重新发送一个。", "en": "That code has expired; I'll send a new one.",
        "id": "Kode sudah tidak berlaku; saya kirim yang baru.",
    },
    "rate_limited": {
        "zh-CN": "验证码发送太频繁，请{seconds}秒后再试。", "en": "Codes were sent too often; try again in {seconds} s.",
        "id": "Kode terlalu sering dikirim; coba lagi dalam {seconds} detik.",
    },
    "contact_channels": {
        "zh-CN": "您可以通过App内在线客服（24小时）、客服热线、电子邮件或WhatsApp、Telegram、微信公众号、Facebook/Instagram私信联系我们。",
        "en": "You can reach us by in-app chat (24/7), the hotline, email, or private messages on WhatsApp, "
              "Telegram, WeChat and Facebook/Instagram.",
        "id": "Hubungi kami lewat chat di aplikasi (24 jam), hotline, email, atau pesan di WhatsApp, Telegram, "
              "WeChat, dan Facebook/Instagram.",
    },
    # ---------------------------------------------------------------- account
    "login_locked": {
        "zh-CN": "您的账户因连续输错{n}次已被锁定。验证身份后即可解锁：请回复您的姓名。",
        "en": "Your account is locked after {n} wrong attempts in a row. I can unlock it once you verify your "
              "identity: please reply with your full name.",
        "id": "Akun Anda terkunci setelah {n} kali salah berturut-turut. Saya bisa membukanya setelah verifikasi "
              "identitas: balas dengan nama lengkap Anda.",
    },
    "login_failures": {
        "zh-CN": "您的账户最近已连续输错{n}次密码，再错{left}次将被锁定。密码区分大小写，请检查大写锁定。需要我发送验证码重置密码吗？",
        "en": "Your account has {n} wrong password attempts in a row; {left} more will lock it. Passwords are "
              "case-sensitive: check Caps Lock. Shall I send a code to reset your password?",
        "id": "Akun Anda sudah {n} kali salah kata sandi berturut-turut; {left} kali lagi akan terkunci. Kata sandi "
              "peka huruf besar/kecil: cek Caps Lock. Mau saya kirim kode untuk reset kata sandi?",
    },
    "login_no_failures": {
        "zh-CN": "您的账户状态正常，没有登录失败记录，可能是网络问题：请切换Wi-Fi/移动数据后重试。如果忘记密码，我可以发送验证码帮您重置，需要吗？",
        "en": "Your account is fine and shows no failed logins, so it may be the network: switch between Wi-Fi "
              "and mobile data and try again. If you forgot your password I can send a reset code; want one?",
        "id": "Akun Anda normal dan tidak ada percobaan gagal, jadi mungkin jaringan: coba ganti Wi-Fi/data "
              "seluler lalu ulangi. Kalau lupa kata sandi, saya bisa kirim kode reset; mau?",
    },
    "reset_code_sent": {
        "zh-CN": "重置{what}的验证码已发送到 {to}（5分钟内有效）。请在App的「忘记{what}」页面输入验证码并设置新的{what}。请勿把验证码告诉任何人。",
        "en": "A code to reset your {what} was sent to {to} (valid 5 minutes). Enter it in the app's "
              "\"Forgot {what}\" screen and choose a new {what}. Never share the code.",
        "id": "Kode untuk reset {what} sudah dikirim ke {to} (berlaku 5 menit). Masukkan di layar \"Lupa {what}\" "
              "di aplikasi lalu buat {what} baru. Jangan bagikan kode ini.",
    },
    "not_locked": {
        "zh-CN": "您的账户没有被锁定，可以正常登录。", "en": "Your account is not locked; you can log in.",
        "id": "Akun Anda tidak terkunci; Anda bisa masuk.",
    },
    "ask_id_last4": {
        "zh-CN": "请回复您身份证号（NIK）的后4位。", "en": "Please reply with the last 4 digits of your ID number (NIK).",
        "id": "Balas dengan 4 digit terakhir NIK Anda.",
    },
    "ask_recent_amount": {
        "zh-CN": "最后一步：请告诉我您最近一笔成功交易的金额（例如 Rp50.000）。",
        "en": "Last step: tell me the amount of one of your recent successful transactions (e.g. Rp50.000).",
        "id": "Langkah terakhir: sebutkan nominal salah satu transaksi berhasil terakhir Anda (misalnya Rp50.000).",
    },
    "unlocked": {
        "zh-CN": "身份验证通过，账户已解锁，现在可以登录了。", "en": "Verified: your account is unlocked and you can log in now.",
        "id": "Verifikasi berhasil: akun Anda sudah dibuka dan bisa dipakai masuk.",
    },
    "verify_failed": {
        "zh-CN": "信息与我们的记录不符（还可尝试{left}次）。我们重新开始：请回复您的姓名。",
        "en": "The answers don't match our records ({left} tries left). Let's start again: your full name?",
        "id": "Jawaban tidak cocok dengan data kami (sisa {left} kali). Kita ulang: nama lengkap Anda?",
    },
    "verify_exhausted": {
        "zh-CN": "今天的验证次数已用完。我为您转人工，客服会请您上传身份证件进行审核。",
        "en": "No more tries today. I'll pass you to an agent, who will ask for an ID document to review.",
        "id": "Percobaan hari ini habis. Saya teruskan ke agen, yang akan meminta dokumen identitas untuk ditinjau.",
    },
    "otp_live": {
        "zh-CN": "我们在{sent}把验证码发到了 {to}，{expires}前有效。请检查短信/邮件（包括垃圾邮件）。需要重新发送吗？",
        "en": "We sent a code to {to} at {sent}; it is valid until {expires}. Check your SMS/email (and spam). "
              "Shall I send a new one?",
        "id": "Kode dikirim ke {to} pukul {sent} dan berlaku sampai {expires}. Cek SMS/email (termasuk spam). "
              "Mau saya kirim ulang?",
    },
    "otp_none": {
        "zh-CN": "最近没有向您发送有效的验证码。需要我现在发送一个到 {to} 吗？",
        "en": "There is no live code for you right now. Shall I send one to {to}?",
        "id": "Saat ini tidak ada kode yang aktif. Mau saya kirim ke {to}?",
    },
    "otp_sent": {
        "zh-CN": "新的验证码已发送到 {to}，5分钟内有效。", "en": "A new code is on its way to {to}; it is valid for 5 minutes.",
        "id": "Kode baru dikirim ke {to}; berlaku 5 menit.",
    },
    "update_info": {
        "zh-CN": "修改手机号或邮箱需要先验证身份。我已向您注册的手机 {to} 发送验证码，请回复6位验证码。",
        "en": "Changing your phone or email needs a check first: I sent a code to your registered phone {to}. "
              "Reply with the 6 digits.",
        "id": "Ganti nomor HP atau email perlu verifikasi dulu: kode sudah dikirim ke nomor terdaftar {to}. "
              "Balas dengan 6 digit kodenya.",
    },
    "update_ask_new": {
        "zh-CN": "验证通过。请回复新的手机号或邮箱地址。", "en": "Verified. Reply with the new phone number or email address.",
        "id": "Terverifikasi. Balas dengan nomor HP atau alamat email baru.",
    },
    "update_codes_sent": {
        "zh-CN": "已向原地址 {old} 和新地址 {new} 各发送一个验证码。请按「原验证码 新验证码」的格式回复，例如 123456 654321。",
        "en": "I sent one code to the old address {old} and one to the new {new}. Reply with both as \"old new\", "
              "e.g. 123456 654321.",
        "id": "Satu kode dikirim ke alamat lama {old} dan satu ke yang baru {new}. Balas keduanya \"lama baru\", "
              "misalnya 123456 654321.",
    },
    "update_done": {
        "zh-CN": "修改成功，新的{field}已生效。", "en": "Done: your new {field} is now on your account.",
        "id": "Berhasil: {field} baru sudah aktif di akun Anda.",
    },
    "security_ask": {
        "zh-CN": "为了保护您的资金，我会立即冻结账户。冻结前请快速确认身份：回复您的姓名和身份证后4位，例如「王小明 1234」。",
        "en": "To protect your money I'll freeze the account right away. Quick check first: reply with your full "
              "name and the last 4 digits of your ID, e.g. \"Budi Santoso 1234\".",
        "id": "Untuk melindungi dana Anda, akun akan saya bekukan sekarang. Cek singkat dulu: balas nama lengkap "
              "dan 4 digit terakhir NIK, misalnya \"Budi Santoso 1234\".",
    },
    "frozen_now": {
        "zh-CN": "账户已冻结：任何人都无法从您的账户转出资金。现在为您转接人工客服处理后续。",
        "en": "Your account is frozen: no money can leave it. I'm passing you to an agent for the next steps.",
        "id": "Akun Anda dibekukan: tidak ada dana yang bisa keluar. Saya teruskan ke agen untuk langkah berikutnya.",
    },
    "already_frozen": {
        "zh-CN": "您的账户已经处于冻结状态，资金是安全的。", "en": "Your account is already frozen; your money is safe.",
        "id": "Akun Anda sudah dibekukan; dana Anda aman.",
    },
    # ---------------------------------------------------------------- transactions
    "no_failed_payment": {
        "zh-CN": "我没有找到您最近失败的付款。最近一笔付款是 {ref}（{amount}，{status}）。",
        "en": "I can't find a recent failed payment. Your latest payment is {ref} ({amount}, {status}).",
        "id": "Saya tidak menemukan pembayaran gagal baru-baru ini. Pembayaran terakhir Anda {ref} ({amount}, {status}).",
    },
    "no_payments": {"zh-CN": "您最近没有付款记录。", "en": "You have no recent payments.",
                    "id": "Belum ada pembayaran terbaru."},
    "pay_INSUFFICIENT_BALANCE": {
        "zh-CN": "您{when}在{merchant}的{amount}付款失败，原因是余额不足：当时余额{balance}，还差{shortfall}。充值后即可重新付款（可用银行转账、银行卡或便利店充值）。",
        "en": "Your {amount} payment to {merchant} {when} failed because the balance was too low: {balance}, "
              "short by {shortfall}. Top up (bank transfer, card or convenience store) and pay again.",
        "id": "Pembayaran {amount} ke {merchant} {when} gagal karena saldo kurang: saldo {balance}, kurang "
              "{shortfall}. Isi saldo (transfer bank, kartu, atau minimarket) lalu bayar lagi.",
    },
    "pay_DAILY_LIMIT_EXCEEDED": {
        "zh-CN": "您{when}在{merchant}的{amount}付款失败，原因是达到了每日付款限额：限额{limit}，今天已用{used}，还可用{remaining}。限额将于{resets}重置。",
        "en": "Your {amount} payment to {merchant} {when} failed: it would pass today's limit of {limit} "
              "({used} used, {remaining} left). The limit resets at {resets}.",
        "id": "Pembayaran {amount} ke {merchant} {when} gagal: melebihi batas harian {limit} (terpakai {used}, "
              "sisa {remaining}). Batas direset pada {resets}.",
    },
    "pay_ACCOUNT_FROZEN": {
        "zh-CN": "您{when}的{amount}付款失败，因为账户处于冻结状态，资金无法转出。解除冻结需要完整的身份验证，我为您转人工。",
        "en": "Your {amount} payment {when} failed because the account is frozen, so no money can leave it. "
              "Lifting a freeze needs full identity verification; I'll pass you to an agent.",
        "id": "Pembayaran {amount} {when} gagal karena akun dibekukan, jadi dana tidak bisa keluar. Membuka "
              "pembekuan perlu verifikasi penuh; saya teruskan ke agen.",
    },
    "pay_ACCOUNT_LOCKED": {
        "zh-CN": "您{when}的{amount}付款失败，因为账户已被锁定。验证身份后可以解锁，要现在开始吗？",
        "en": "Your {amount} payment {when} failed because the account is locked. I can unlock it after an "
              "identity check; shall we start?",
        "id": "Pembayaran {amount} {when} gagal karena akun terkunci. Bisa dibuka setelah verifikasi identitas; "
              "mulai sekarang?",
    },
    "pay_PIN_INVALID": {
        "zh-CN": "您{when}的{amount}付款失败，因为PIN输入错误。请重新付款并仔细输入PIN；如果忘记PIN，我可以发送验证码帮您重置。",
        "en": "Your {amount} payment {when} failed because the PIN was wrong. Pay again carefully; if you "
              "forgot your PIN I can send a reset code.",
        "id": "Pembayaran {amount} {when} gagal karena PIN salah. Bayar lagi dengan teliti; kalau lupa PIN saya "
              "bisa kirim kode reset.",
    },
    "pay_MERCHANT_UNAVAILABLE": {
        "zh-CN": "您{when}在{merchant}的{amount}付款失败，因为该商户暂时无法收款，您的钱没有被扣。请稍后再试或选择其他商户。",
        "en": "Your {amount} payment to {merchant} {when} failed because the merchant cannot take payments right "
              "now; no money was taken. Try again later or pay another merchant.",
        "id": "Pembayaran {amount} ke {merchant} {when} gagal karena merchant sedang tidak bisa menerima "
              "pembayaran; saldo tidak terpotong. Coba lagi nanti atau pakai merchant lain.",
    },
    "pay_RISK_DECLINED": {
        "zh-CN": "您{when}的{amount}付款被风控拦截（单笔上限{limit}），钱没有被扣。我为您转人工核实。",
        "en": "Your {amount} payment {when} was stopped by our risk checks (single-payment limit {limit}); "
              "no money was taken. I'll pass you to an agent to review it.",
        "id": "Pembayaran {amount} {when} dihentikan pemeriksaan risiko (batas per transaksi {limit}); saldo tidak "
              "terpotong. Saya teruskan ke agen untuk ditinjau.",
    },
    "pay_PROVIDER_TIMEOUT_held": {
        "zh-CN": "您{when}在{merchant}的{amount}付款因支付通道超时失败，但钱已被扣。我已为您退回这笔钱（{reversal}），现在余额是{balance}。",
        "en": "Your {amount} payment to {merchant} {when} failed at the payment provider after the money was "
              "taken. I've given it back ({reversal}); your balance is now {balance}.",
        "id": "Pembayaran {amount} ke {merchant} {when} gagal di penyedia pembayaran setelah saldo terpotong. "
              "Dana sudah saya kembalikan ({reversal}); saldo Anda sekarang {balance}.",
    },
    "pay_PROVIDER_TIMEOUT": {
        "zh-CN": "您{when}的{amount}付款因支付通道超时失败，钱已退回您的账户。请重新付款。",
        "en": "Your {amount} payment {when} failed because the payment provider timed out; the money is back in "
              "your wallet. Please pay again.",
        "id": "Pembayaran {amount} {when} gagal karena penyedia pembayaran timeout; dana sudah kembali ke saldo "
              "Anda. Silakan bayar ulang.",
    },
    "pay_KYC_UPGRADE_REQUIRED": {
        "zh-CN": "这笔{amount}的操作需要GoPay Plus（实名认证）账户，升级后即可使用。",
        "en": "This {amount} transaction needs GoPay Plus (a verified account); upgrade and try again.",
        "id": "Transaksi {amount} ini butuh GoPay Plus (akun terverifikasi); upgrade lalu coba lagi.",
    },
    "topup_BALANCE_CAP_EXCEEDED": {
        "zh-CN": "您{when}充值{amount}未成功：余额上限是{cap}，当时余额{balance}，最多只能再充{room}。请充值不超过{room}的金额，"
                 "或升级GoPay Plus提高上限。",
        "en": "Your {amount} top-up {when} didn't go through: the balance cap is {cap} and your balance was {balance}, "
              "so at most {room} more fits. Top up {room} or less, or upgrade to GoPay Plus for a higher cap.",
        "id": "Top-up {amount} {when} gagal: batas saldo {cap}, saldo Anda saat itu {balance}, jadi maksimal {room} "
              "lagi. Isi maksimal {room}, atau upgrade ke GoPay Plus untuk batas lebih tinggi.",
    },
    "topup_MONTHLY_LIMIT_EXCEEDED": {
        "zh-CN": "您{when}充值{amount}未成功：每月转入限额{limit}，本月已用{used}，还剩{remaining}，{resets}重置。",
        "en": "Your {amount} top-up {when} didn't go through: the monthly incoming limit is {limit}, {used} is used "
              "this month and {remaining} is left; it resets {resets}.",
        "id": "Top-up {amount} {when} gagal: batas dana masuk bulanan {limit}, bulan ini terpakai {used}, sisa "
              "{remaining}; direset {resets}.",
    },
    "pay_other": {
        "zh-CN": "您{when}的{amount}付款失败（{reason}）。请重启App后重试，或回复「转人工」带上错误信息联系客服。",
        "en": "Your {amount} payment {when} failed ({reason}). Restart the app and try again, or type \"agent\" "
              "and we'll look at the error details.",
        "id": "Pembayaran {amount} {when} gagal ({reason}). Mulai ulang aplikasi dan coba lagi, atau ketik "
              "\"agen\" agar kami cek detailnya.",
    },
    "retry_or_agent": {
        "zh-CN": "需要转人工客服吗？", "en": "Would you like an agent to look at it?", "id": "Mau dibantu agen CS?",
    },
    "pending_status": {
        "zh-CN": "您{when}的{kind} {amount}（{ref}）仍在处理中。{next}",
        "en": "Your {kind} of {amount} {when} ({ref}) is still being processed. {next}",
        "id": "{kind} {amount} Anda {when} ({ref}) masih diproses. {next}",
    },
    "pending_next_ok": {
        "zh-CN": "通常{minutes}分钟内完成，请稍候。", "en": "It usually completes within {minutes} minutes.",
        "id": "Biasanya selesai dalam {minutes} menit.",
    },
    "pending_overdue": {
        "zh-CN": "已超过正常处理时间，我已为您创建调查工单 #{ticket}，客服会跟进并通知您结果。",
        "en": "It has taken longer than it should, so I opened investigation ticket #{ticket}; an agent will "
              "follow up with you.",
        "id": "Sudah melewati waktu normal, jadi saya buka tiket investigasi #{ticket}; agen akan menindaklanjuti.",
    },
    "nothing_pending": {
        "zh-CN": "您没有处理中的交易，所有充值和转账都已完成。最近一笔是 {ref}（{amount}，{status}）。",
        "en": "You have no transactions in progress; the latest is {ref} ({amount}, {status}).",
        "id": "Tidak ada transaksi yang sedang diproses; yang terakhir {ref} ({amount}, {status}).",
    },
    "limits": {
        "zh-CN": "您是{tier}用户：余额上限{cap}（当前余额{balance}）；每日付款限额{daily}，今天已用{daily_used}，{daily_reset}重置；每月转入限额{monthly}，本月已用{monthly_used}，{monthly_reset}重置。",
        "en": "You are a {tier} user: balance cap {cap} (balance {balance}); daily payment limit {daily}, "
              "{daily_used} used today, resets {daily_reset}; monthly incoming limit {monthly}, {monthly_used} "
              "used this month, resets {monthly_reset}.",
        "id": "Anda pengguna {tier}: batas saldo {cap} (saldo {balance}); batas bayar harian {daily}, terpakai "
              "{daily_used} hari ini, direset {daily_reset}; batas dana masuk bulanan {monthly}, terpakai "
              "{monthly_used}, direset {monthly_reset}.",
    },
    "topup": {
        "zh-CN": "充值方式：银行转账（虚拟账号）、借记卡/信用卡、便利店（Alfamart/Indomaret）。您当前余额{balance}，还可以充值{room}（余额上限{cap}）。",
        "en": "Top up by bank transfer (virtual account), debit/credit card, or at a convenience store "
              "(Alfamart/Indomaret). Your balance is {balance}; you can add up to {room} (cap {cap}).",
        "id": "Isi saldo lewat transfer bank (virtual account), kartu debit/kredit, atau minimarket "
              "(Alfamart/Indomaret). Saldo Anda {balance}; masih bisa diisi hingga {room} (batas {cap}).",
    },
    "history": {
        "zh-CN": "您最近的交易：\n{lines}", "en": "Your recent transactions:\n{lines}",
        "id": "Transaksi terakhir Anda:\n{lines}",
    },
    # ---------------------------------------------------------------- refunds
    "refund_pick": {
        "zh-CN": "以下付款可以申请退款，请回复序号：\n{lines}", "en": "These payments can be refunded; reply with a number:\n{lines}",
        "id": "Pembayaran ini bisa di-refund; balas dengan nomornya:\n{lines}",
    },
    "refund_left": {"zh-CN": "（已退部分，还可退{left}）", "en": " (partly refunded: {left} left)",
                    "id": " (sebagian sudah di-refund, sisa {left})"},
    "refund_none": {
        "zh-CN": "您最近没有可以退款的付款。", "en": "You have no recent payments that can be refunded.",
        "id": "Tidak ada pembayaran terbaru yang bisa di-refund.",
    },
    "refund_ask_reason": {
        "zh-CN": "请简单说明退款原因（例如：商品未收到）。", "en": "Briefly, why do you want the refund (e.g. item never arrived)?",
        "id": "Apa alasan refund-nya (misalnya barang tidak sampai)?",
    },
    "refund_submitted": {
        "zh-CN": "退款申请已提交：{ref} 的 {amount}，申请编号 RR{id}，状态：已提交，等待审核（通常1-3个工作日）。可随时问我「退款进度」。",
        "en": "Refund request RR{id} submitted: {amount} for {ref}; status: submitted, awaiting review "
              "(usually 1-3 business days). Ask me \"refund status\" any time.",
        "id": "Permintaan refund RR{id} terkirim: {amount} untuk {ref}; status: diajukan, menunggu ditinjau "
              "(biasanya 1-3 hari kerja). Tanya \"status refund\" kapan saja.",
    },
    "refund_status": {
        "zh-CN": "您的退款进度：\n{lines}", "en": "Your refunds:\n{lines}", "id": "Status refund Anda:\n{lines}",
    },
    "refund_status_none": {
        "zh-CN": "您目前没有退款申请。需要申请退款吗？", "en": "You have no refund requests. Would you like to request one?",
        "id": "Belum ada permintaan refund. Mau mengajukan?",
    },
    "pick_again": {
        "zh-CN": "请回复列表中的序号（1-{n}）。", "en": "Please reply with a number from the list (1-{n}).",
        "id": "Balas dengan nomor dari daftar (1-{n}).",
    },
    "dispute_ask": {
        "zh-CN": "请告诉我有问题的交易（编号或金额）和发生了什么，我会为您建立争议工单。",
        "en": "Tell me which transaction (reference or amount) and what happened; I'll open a dispute case.",
        "id": "Sebutkan transaksinya (nomor referensi atau nominal) dan apa yang terjadi; saya buka kasus sengketa.",
    },
    "dispute_opened": {
        "zh-CN": "争议工单 #{ticket} 已建立{txn}，专员会联系您并可能需要您提供凭证（截图、聊天记录等）。",
        "en": "Dispute case #{ticket} is open{txn}. A specialist will contact you and may ask for evidence "
              "(screenshots, chats).",
        "id": "Kasus sengketa #{ticket} sudah dibuka{txn}. Petugas akan menghubungi Anda dan mungkin meminta "
              "bukti (tangkapan layar, chat).",
    },
    # ---------------------------------------------------------------- app faults
    "tech_ask_device": {
        "zh-CN": "请告诉我您的手机型号、系统版本和GoPay App版本（例如：Android 13，App 4.2）。",
        "en": "Which phone, OS version and GoPay app version do you use (e.g. Android 13, app 4.2)?",
        "id": "HP, versi sistem, dan versi aplikasi GoPay apa yang Anda pakai (misalnya Android 13, app 4.2)?",
    },
    "tech_step_os": {
        "zh-CN": "第1步：请把手机系统和GoPay App都更新到最新版本，然后重试。问题解决了吗？",
        "en": "Step 1: update your phone's OS and the GoPay app to the latest versions, then try again. Did that fix it?",
        "id": "Langkah 1: perbarui sistem HP dan aplikasi GoPay ke versi terbaru, lalu coba lagi. Sudah beres?",
    },
    "tech_step_cache": {
        "zh-CN": "第2步：在系统设置中清除GoPay的缓存，并确保至少有1GB可用存储空间。现在好了吗？",
        "en": "Step 2: clear GoPay's cache in your phone settings and free at least 1 GB of storage. Better now?",
        "id": "Langkah 2: hapus cache GoPay di pengaturan HP dan kosongkan minimal 1 GB penyimpanan. Sudah lebih baik?",
    },
    "tech_step_reinstall": {
        "zh-CN": "第3步：卸载并重新安装GoPay App（余额和记录不会丢失），登录后再试。解决了吗？",
        "en": "Step 3: uninstall and reinstall the GoPay app (your balance and history stay), log in and try "
              "again. Solved?",
        "id": "Langkah 3: hapus lalu pasang ulang aplikasi GoPay (saldo dan riwayat tetap aman), masuk, dan coba "
              "lagi. Sudah teratasi?",
    },
    "tech_solved": {
        "zh-CN": "太好了，问题已解决！", "en": "Great, glad it's fixed!", "id": "Syukurlah, sudah teratasi!",
    },
    "tech_ticket": {
        "zh-CN": "这些步骤没有解决问题，我已创建技术工单 #{ticket}，记录了您的设备信息和已尝试的步骤。",
        "en": "Those steps didn't fix it, so I opened technical ticket #{ticket} with your device details and "
              "everything we tried.",
        "id": "Langkah-langkah itu belum berhasil, jadi saya buka tiket teknis #{ticket} berisi detail perangkat "
              "dan semua yang sudah dicoba.",
    },
    # ---------------------------------------------------------------- promotions
    "promo_credited": {
        "zh-CN": "{ref}（{amount}，{merchant}，{when}）已获得「{campaign}」返现{cashback}，已于{credited}到账（流水号{cashback_ref}）。",
        "en": "{ref} ({amount} at {merchant}, {when}) earned {cashback} cashback from \"{campaign}\"; it was credited "
              "{credited} (reference {cashback_ref}).",
        "id": "{ref} ({amount} di {merchant}, {when}) dapat cashback {cashback} dari \"{campaign}\", sudah masuk "
              "{credited} (ref. {cashback_ref}).",
    },
    "promo_awarded_now": {
        "zh-CN": "{ref}（{amount}，{merchant}，{when}）符合「{campaign}」的条件，但返现还没发放。我已为您补发{cashback}，"
                 "现在已到账（流水号{cashback_ref}）。",
        "en": "{ref} ({amount} at {merchant}, {when}) qualifies for \"{campaign}\" but its cashback had not been "
              "given. I have credited {cashback} now (reference {cashback_ref}).",
        "id": "{ref} ({amount} di {merchant}, {when}) memenuhi syarat \"{campaign}\" tapi cashback-nya belum "
              "diberikan. Sudah saya kirim {cashback} sekarang (ref. {cashback_ref}).",
    },
    "promo_scheduled": {
        "zh-CN": "{ref}（{amount}，{merchant}，{when}）符合「{campaign}」的条件，返现{cashback}将于{due}前到账。",
        "en": "{ref} ({amount} at {merchant}, {when}) qualifies for \"{campaign}\": {cashback} cashback will be "
              "credited by {due}.",
        "id": "{ref} ({amount} di {merchant}, {when}) memenuhi syarat \"{campaign}\": cashback {cashback} akan "
              "masuk paling lambat {due}.",
    },
    "promo_cancelled": {
        "zh-CN": "{ref}（{amount}）已全额退款，「{campaign}」的返现{cashback}随之取消。",
        "en": "{ref} ({amount}) was refunded in full, so its {cashback} cashback from \"{campaign}\" was cancelled.",
        "id": "{ref} ({amount}) sudah di-refund penuh, jadi cashback {cashback} dari \"{campaign}\" dibatalkan.",
    },
    "promo_credit_failed": {
        "zh-CN": "{ref}符合「{campaign}」的条件，但返现{cashback}未能入账（{reason}）。我把详情转给人工客服处理。",
        "en": "{ref} qualifies for \"{campaign}\", but the {cashback} cashback could not be credited ({reason}). "
              "I'm passing the details to an agent.",
        "id": "{ref} memenuhi syarat \"{campaign}\", tapi cashback {cashback} gagal masuk ({reason}). Detailnya "
              "saya teruskan ke agen.",
    },
    "promo_not_eligible": {
        "zh-CN": "{ref}（{amount}，{merchant}，{when}）没有获得返现，原因如下：\n{reasons}",
        "en": "{ref} ({amount} at {merchant}, {when}) did not earn cashback:\n{reasons}",
        "id": "{ref} ({amount} di {merchant}, {when}) tidak dapat cashback:\n{reasons}",
    },
    "promo_reason_line": {"zh-CN": "• 「{campaign}」（{code}）：{why}", "en": "• \"{campaign}\" ({code}): {why}",
                          "id": "• \"{campaign}\" ({code}): {why}"},
    "promo_no_campaigns": {
        "zh-CN": "{ref}（{amount}，{when}）付款时没有进行中的返现活动，所以没有返现。",
        "en": "No cashback campaign was running when you paid {ref} ({amount}, {when}), so it earned none.",
        "id": "Tidak ada promo cashback yang berjalan saat transaksi {ref} ({amount}, {when}), jadi tidak ada cashback.",
    },
    "promo_offers": {"zh-CN": "您现在可以参加的返现活动：\n{offers}", "en": "Cashback campaigns open to you now:\n{offers}",
                     "id": "Promo cashback yang bisa Anda ikuti sekarang:\n{offers}"},
    "promo_offers_public": {"zh-CN": "正在进行的返现活动：\n{offers}", "en": "Cashback campaigns running now:\n{offers}",
                            "id": "Promo cashback yang sedang berjalan:\n{offers}"},
    "promo_uses_left": {"zh-CN": "（您还可以参加{n}次）", "en": " ({n} left for you)", "id": " (sisa {n}x untuk Anda)"},
    "promo_no_offers": {"zh-CN": "目前没有您可以参加的返现活动。", "en": "There is no cashback campaign open to you right now.",
                        "id": "Saat ini belum ada promo cashback yang bisa Anda ikuti."},
    "promo_reason_BALANCE_CAP_EXCEEDED": {"zh-CN": "余额已达上限", "en": "your balance is at its cap",
                                          "id": "saldo Anda sudah mencapai batas"},
    "promo_reason_other": {"zh-CN": "系统原因：{reason}", "en": "reason: {reason}", "id": "alasan: {reason}"},
}

WORDS: dict[str, dict[str, str]] = {
    **STATUS_AND_TIER_WORDS,
    "password": {"zh-CN": "密码", "en": "password", "id": "kata sandi"},
    "pin": {"zh-CN": "PIN", "en": "PIN", "id": "PIN"},
    "phone": {"zh-CN": "手机号", "en": "phone number", "id": "nomor HP"},
    "email": {"zh-CN": "邮箱", "en": "email", "id": "email"},
    "topup": {"zh-CN": "充值", "en": "top-up", "id": "Top-up"},
    "payment": {"zh-CN": "付款", "en": "payment", "id": "Pembayaran"},
    "withdrawal": {"zh-CN": "提现", "en": "withdrawal", "id": "Penarikan"},
    "p2p": {"zh-CN": "转账", "en": "transfer", "id": "Transfer"},
    "refund": {"zh-CN": "退款", "en": "refund", "id": "Refund"},
    "cashback": {"zh-CN": "返现", "en": "cashback", "id": "Cashback"},
    "reversal": {"zh-CN": "退回", "en": "reversal", "id": "Pengembalian"},
    "submitted": {"zh-CN": "已提交", "en": "submitted", "id": "diajukan"},
    "under_review": {"zh-CN": "审核中", "en": "under review", "id": "ditinjau"},
    "approved": {"zh-CN": "已批准", "en": "approved", "id": "disetujui"},
    "rejected": {"zh-CN": "已拒绝", "en": "rejected", "id": "ditolak"},
    "refunded": {"zh-CN": "已退款", "en": "refunded", "id": "sudah dikembalikan"},
    "today": {"zh-CN": "今天", "en": "today", "id": "hari ini"},
    "yesterday": {"zh-CN": "昨天", "en": "yesterday", "id": "kemarin"},
}


def say(key: str, lang: str, **values: object) -> str:
    return render(T, key, lang, **values)


def word(key: str, lang: str) -> str:
    entry = WORDS.get(key)
    return entry.get(normalize_language(lang), entry["en"]) if entry else key


def money(amount: int) -> str:
    return format_rupiah(amount)


def when(at: datetime, now: datetime, lang: str, tz: ZoneInfo) -> str:
    """'today 14:05' / '昨天 14:05' / '21 Nov 14:05' in the local time zone."""
    local, today = at.astimezone(tz), now.astimezone(tz).date()
    clock = local.strftime("%H:%M")
    if local.date() == today:
        return f"{word('today', lang)} {clock}" if lang != "zh-CN" else f"今天{clock}"
    if (today - local.date()).days == 1:
        return f"{word('yesterday', lang)} {clock}" if lang != "zh-CN" else f"昨天{clock}"
    if lang == "zh-CN":
        return f"{local.month}月{local.day}日{clock}"
    return f"{short_date(local.date(), lang)} {clock}"


def reset_time(at: datetime, lang: str, tz: ZoneInfo) -> str:
    local = at.astimezone(tz)
    name = tz.key.split("/")[-1]
    zone = "WIB" if name == "Jakarta" else name
    if lang == "zh-CN":
        return f"{local.month}月{local.day}日 {local:%H:%M} ({zone})"
    return f"{short_date(local.date(), lang)} {local:%H:%M} {zone}"
