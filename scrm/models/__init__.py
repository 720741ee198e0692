"""Beanie documents, one module per aggregate. They import only beanie, pydantic and pymongo."""

from beanie import Document

from scrm.models.channel import Channel, ChannelCredentials, ChannelStatus
from scrm.models.contact import Consent, ConsentStatus, Contact, Identity, identity_key
from scrm.models.conversation import Conversation, ConversationStatus
from scrm.models.follow import Follow, FollowKind
from scrm.models.message import Attachment, Direction, Message
from scrm.models.outbound import OutboundMessage, OutboundStatus
from scrm.models.post import Comment, Post
from scrm.models.raw_event import RawEvent, RawEventStatus
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
)

__all__ = [
    "DOCUMENTS",
    "Attachment",
    "Channel",
    "ChannelCredentials",
    "ChannelStatus",
    "Comment",
    "Consent",
    "ConsentStatus",
    "Contact",
    "Conversation",
    "ConversationStatus",
    "Direction",
    "Follow",
    "FollowKind",
    "Identity",
    "Message",
    "OutboundMessage",
    "OutboundStatus",
    "Post",
    "RawEvent",
    "RawEventStatus",
    "WorkerHeartbeat",
    "Workspace",
    "identity_key",
]
