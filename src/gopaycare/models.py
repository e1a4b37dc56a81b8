"""Every table, imported in one place for migrations and tests."""

from __future__ import annotations

from .assistant import models as _assistant  # noqa: F401
from .attachments import models as _attachments  # noqa: F401
from .callbacks import models as _callbacks  # noqa: F401
from .channels import accounts as _channel_accounts  # noqa: F401
from .channels import email_mailboxes as _email_mailboxes  # noqa: F401
from .channels import email_threads as _email_threads  # noqa: F401
from .channels import intake as _channels  # noqa: F401
from .desk import models as _desk  # noqa: F401
from .disputes import models as _disputes  # noqa: F401
from .identity import models as _identity  # noqa: F401
from .kb import models as _kb  # noqa: F401
from .platform import audit as _audit  # noqa: F401
from .platform import outbox as _outbox  # noqa: F401
from .platform import rollup as _rollup  # noqa: F401
from .platform.db import Base
from .promotions import models as _promotions  # noqa: F401
from .refunds import models as _refunds  # noqa: F401
from .wallet import models as _wallet  # noqa: F401

metadata = Base.metadata
