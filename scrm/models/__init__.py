"""Beanie documents, one module per aggregate. They import only beanie, pydantic and pymongo."""

from beanie import Document

from scrm.models.api_token import ApiToken
from scrm.models.audit import AppendOnlyError, AuditAction, AuditEntry
from scrm.models.canned_response import CannedResponse
from scrm.models.channel import Channel, ChannelCredentials, ChannelStatus
from scrm.models.contact import Consent, ConsentStatus, Contact, Identity, identity_key
from scrm.models.conversation import Conversation, ConversationStatus
from scrm.models.correction import TagCorrection
from scrm.models.csat import CsatSettings, CsatSurvey, SurveyStatus
from scrm.models.follow import Follow, FollowKind
from scrm.models.login_session import LoginSession
from scrm.models.merge import MergeRecord, MergeSuggestion, SuggestionStatus
from scrm.models.message import Attachment, Direction, Message
from scrm.models.note import Note
from scrm.models.outbound import OutboundMessage, OutboundStatus
from scrm.models.platform_state import PlatformToken, SyncCursor
from scrm.models.post import Comment, Post
from scrm.models.presence import ConversationPresence, PresenceState
from scrm.models.rate_counter import RateCounter
from scrm.models.raw_event import RawEvent, RawEventStatus
from scrm.models.scope import NotInWorkspace, WorkspaceScope, across_workspaces
from scrm.models.sealed import SecretBox, SecretKeyError, SecretKeyMismatch, SecretKeyMissing
from scrm.models.sla import BusinessHours, OpenInterval, SlaClock, SlaPolicy
from scrm.models.team import DEFAULT_CAPACITY, AgentAvailability, AgentStatus, Team
from scrm.models.user import Membership, Role, User
from scrm.models.worker import WorkerHeartbeat
from scrm.models.workspace import Workspace

DOCUMENTS: tuple[type[Document], ...] = (
    Workspace,
    Channel,
    ChannelCredentials,
    Contact,
    Conversation,
    Message,
    Post,
    Comment,
    Follow,
    RawEvent,
    OutboundMessage,
    WorkerHeartbeat,
    SyncCursor,
    PlatformToken,
    TagCorrection,
    User,
    Membership,
    LoginSession,
    ApiToken,
    AuditEntry,
    RateCounter,
    Note,
    CannedResponse,
    MergeSuggestion,
    MergeRecord,
    BusinessHours,
    SlaPolicy,
    ConversationPresence,
    CsatSurvey,
    Team,
    AgentAvailability,
)

__all__ = [
    "DEFAULT_CAPACITY",
    "DOCUMENTS",
    "AgentAvailability",
    "AgentStatus",
    "ApiToken",
    "AppendOnlyError",
    "Attachment",
    "AuditAction",
    "AuditEntry",
    "BusinessHours",
    "CannedResponse",
    "Channel",
    "ChannelCredentials",
    "ChannelStatus",
    "Comment",
    "Consent",
    "ConsentStatus",
    "Contact",
    "Conversation",
    "ConversationPresence",
    "ConversationStatus",
    "CsatSettings",
    "CsatSurvey",
    "Direction",
    "Follow",
    "FollowKind",
    "Identity",
    "LoginSession",
    "Membership",
    "MergeRecord",
    "MergeSuggestion",
    "Message",
    "NotInWorkspace",
    "Note",
    "OpenInterval",
    "OutboundMessage",
    "OutboundStatus",
    "PlatformToken",
    "Post",
    "PresenceState",
    "RateCounter",
    "RawEvent",
    "RawEventStatus",
    "Role",
    "SecretBox",
    "SecretKeyError",
    "SecretKeyMismatch",
    "SecretKeyMissing",
    "SlaClock",
    "SlaPolicy",
    "SuggestionStatus",
    "SurveyStatus",
    "SyncCursor",
    "TagCorrection",
    "Team",
    "User",
    "WorkerHeartbeat",
    "Workspace",
    "WorkspaceScope",
    "across_workspaces",
    "identity_key",
]
