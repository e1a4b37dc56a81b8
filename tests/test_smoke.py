from gopaycare.wallet.verify import verify


def test_registered_customer_with_topup_has_exact_balance(svc, make_customer):
    customer = make_customer(balance=150_000)

    summary = svc.wallet.summary(customer)

    assert summary.balance == 150_000
    assert summary.monthly_incoming.used == 150_000
    assert verify(svc.db).ok
