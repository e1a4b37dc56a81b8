"""What operators and load balancers read."""

from __future__ import annotations

from pydantic import Field

from .common import Out


class HealthOut(Out):
    status: str = Field(description='"ok" once the database answered')
    database: str = Field(description="sqlite or postgresql")
    jobs: str = Field(description="redis or embedded")
