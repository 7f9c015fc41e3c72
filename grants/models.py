"""Imports every domain's models so metadata (and Alembic) sees all tables."""

from .accounts.models import AccountToken, ApiToken, User, UserSession  # noqa: F401
from .alerts.models import Notification  # noqa: F401
from .audit.models import AuditEvent  # noqa: F401
from .calls.models import Call, CallRegion, Criterion, Theme  # noqa: F401
from .organizations.models import Invitation, Membership, Organization  # noqa: F401
from .subscriptions.models import Subscription, SubscriptionRegion, SubscriptionTheme  # noqa: F401
