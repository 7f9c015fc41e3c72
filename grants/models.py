"""Imports every domain's models so metadata (and Alembic) sees all tables."""

from .accounts.models import AccountToken, ApiToken, User, UserSession  # noqa: F401
from .alerts.models import Notification  # noqa: F401
from .applications.models import (  # noqa: F401  # noqa: F401
    AccessLogEntry,
    Application,
    Attachment,
    BudgetLine,
    Indicator,
    Submission,
    WorkplanItem,
)
from .audit.models import AuditEvent  # noqa: F401
from .awards.models import Award, Letter, Report, ReportFile, Tranche  # noqa: F401
from .broadcasts.models import Broadcast  # noqa: F401
from .calls.models import Call, CallRegion, Criterion, Theme  # noqa: F401
from .channels.models import ChannelChoice, PhoneCode, PhoneNumber, TelegramCode, TelegramLink  # noqa: F401
from .clarifications.models import Clarification, ClarificationFile, ClarificationReply  # noqa: F401
from .consortia.models import Consortium, ConsortiumMember  # noqa: F401
from .organizations.models import (  # noqa: F401
    Invitation,
    Membership,
    Organization,
    OrganizationTheme,  # noqa: F401
)
from .questions.models import CallQuestion  # noqa: F401
from .reviews.models import (  # noqa: F401  # noqa: F401
    Appeal,
    Assignment,
    Decision,
    Review,
    ReviewerAffiliation,
    ReviewerConflict,
    ReviewerInvitation,
    ReviewerProfile,
)
from .subscriptions.models import Subscription, SubscriptionRegion, SubscriptionTheme  # noqa: F401
