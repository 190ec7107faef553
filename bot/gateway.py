"""The only place that sends to Slack: replies go out as ephemeral or channel messages, charts
go up with files_upload_v2, and a conversation the bot cannot post in is answered through the
command's response_url instead."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.webhook import WebhookClient

from bot.blocks import MAX_TEXT, message_blocks, plain_text
from bot.rate_limits import Pacer
from commands.reply import Reply

log = logging.getLogger(__name__)
# The bot is not in the conversation (a DM with someone else, a channel it was not invited to).
NOT_THERE = {"channel_not_found", "not_in_channel", "user_not_in_channel", "is_archived"}


def web_client(token: str, base_url: str = "", rate_limit_retries: int = 3,
               connection_retries: int = 2) -> WebClient:
    """A Web API client for Slack (or GovSlack, or the tests' stand-in at ``base_url``) that
    waits and retries when Slack answers 429 Too Many Requests (Slack did nothing then, so
    a retry cannot double anything). Server errors are not retried here: Slack may have
    done the work, so whoever calls decides."""
    client = WebClient(token=token, base_url=base_url or WebClient.BASE_URL, timeout=10)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=rate_limit_retries))
    if connection_retries:
        client.retry_handlers.append(
            ConnectionErrorRetryHandler(max_retry_count=connection_retries))
    return client


class Gateway:
    def __init__(self, client: WebClient, pacer: Pacer | None = None):
        self.client = client
        self.pacer = pacer

    def pace(self, method: str, channel: str | None = None) -> None:
        """Wait until calling ``method`` keeps within Slack's rate limits (with a pacer)."""
        if self.pacer is not None:
            self.pacer.wait(method, channel)

    def deliver(self, reply: Reply, *, channel: str, user: str, response_url: str | None) -> None:
        """Show ``reply`` to ``user`` alone, or to the whole conversation when it is shared."""
        public = reply.share and not reply.error
        if public and reply.chart is not None:
            try:
                self.client.files_upload_v2(
                    channel=channel, content=reply.chart.png, filename=reply.chart.filename,
                    title=reply.chart.title, initial_comment=plain_text(reply))
                return
            except SlackApiError as error:
                if error.response.get("error") not in NOT_THERE:
                    raise
                log.info("cannot upload into %s (%s); answering through response_url",
                         channel, error.response.get("error"))
        file_id = self.upload_image(reply.chart.png, reply.chart.filename, reply.chart.title) \
            if reply.chart is not None else None
        blocks = message_blocks(reply, file_id)
        try:
            if public:
                self.client.chat_postMessage(channel=channel, text=plain_text(reply), blocks=blocks)
            else:
                self.client.chat_postEphemeral(channel=channel, user=user, text=plain_text(reply),
                                               blocks=blocks)
            return
        except SlackApiError as error:
            if error.response.get("error") not in NOT_THERE or not response_url:
                raise
        self.respond(response_url, reply, blocks=blocks, public=public)

    def respond(self, response_url: str, reply: Reply, *, blocks: list[dict] | None = None,
                public: bool = False) -> None:
        response = WebhookClient(response_url, timeout=10).send(
            text=plain_text(reply), blocks=blocks or message_blocks(reply),
            response_type="in_channel" if public else "ephemeral")
        if response.status_code != 200:
            raise RuntimeError(f"response_url answered {response.status_code}: {response.body}")

    # -- the weekly dashboard and notices ----------------------------------------------------

    def upload_image(self, png: bytes, filename: str, title: str) -> str:
        """Upload an image without sharing it (messages show it by the returned file id), as
        files_upload_v2 does, one Web API call at a time so that each is paced and retried
        on its own."""
        import urllib.request

        self.pace("files.getUploadURLExternal")
        target = self.client.files_getUploadURLExternal(filename=filename, length=len(png))
        request = urllib.request.Request(target["upload_url"], data=png, method="POST",
                                         headers={"Content-Type": "application/octet-stream"})
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - Slack's URL
            if answer.status != 200:
                raise RuntimeError(f"uploading {filename} answered {answer.status}")
        self.pace("files.completeUploadExternal")
        self.client.files_completeUploadExternal(
            files=[{"id": target["file_id"], "title": title}])
        return target["file_id"]

    def post_marked(self, channel: str, reply: Reply, file_id: str | None,
                    event_type: str, payload: dict) -> str:
        """Post ``reply`` in ``channel`` with message metadata that ``find_marked`` finds;
        returns the message's timestamp."""
        self.pace("chat.postMessage", channel)
        posted = self.client.chat_postMessage(
            channel=channel, text=plain_text(reply), blocks=message_blocks(reply, file_id),
            metadata={"event_type": event_type, "event_payload": payload}, unfurl_links=False)
        return posted["ts"]

    def find_marked(self, channel: str, oldest: float, event_type: str,
                    payload: dict) -> str | None:
        """The timestamp of a message in ``channel`` since ``oldest`` (epoch seconds) that
        carries this metadata, or None."""
        cursor = None
        while True:
            self.pace("conversations.history")
            page = self.client.conversations_history(
                channel=channel, oldest=f"{oldest:.6f}", include_all_metadata=True,
                limit=200, cursor=cursor)
            for message in page["messages"]:
                metadata = message.get("metadata") or {}
                if metadata.get("event_type") == event_type and all(
                        metadata.get("event_payload", {}).get(k) == v for k, v in payload.items()):
                    return message["ts"]
            cursor = page.get("response_metadata", {}).get("next_cursor")
            if not page.get("has_more") or not cursor:
                return None

    def open_view(self, trigger_id: str, view: dict) -> None:
        """Open a form (a modal) for the user who typed the command or pressed the button."""
        self.client.views_open(trigger_id=trigger_id, view=view)

    def publish_home(self, user: str, view: dict) -> None:
        self.client.views_publish(user_id=user, view=view)

    def post_note(self, channel: str, text: str) -> str:
        """A plain note in a channel (no citizen data ever goes this way)."""
        self.pace("chat.postMessage", channel)
        return self.client.chat_postMessage(channel=channel, text=text[:MAX_TEXT])["ts"]

    def dm_channel(self, user: str) -> str:
        """The id of the bot's direct-message conversation with ``user``."""
        return self.client.conversations_open(users=user)["channel"]["id"]

    def direct_reply(self, user: str, reply: Reply) -> str:
        """``reply`` as a direct message from the bot to ``user`` (posting to a user id opens
        the DM); returns its timestamp."""
        self.pace("chat.postMessage", user)
        posted = self.client.chat_postMessage(channel=user, text=plain_text(reply),
                                              blocks=message_blocks(reply))
        return posted["ts"]

    def tell(self, user: str, reply: Reply, what: str) -> bool:
        """``direct_reply`` for messages no one waits on (digests, summaries, notices to
        admins): a failure is logged with ``what`` was sent, not raised; False then."""
        try:
            self.direct_reply(user, reply)
            return True
        except Exception:
            log.exception("%s to %s failed", what, user)
            return False

    def channel_members(self, channel: str) -> list[str]:
        members: list[str] = []
        cursor = None
        while True:
            page = self.client.conversations_members(channel=channel, cursor=cursor, limit=500)
            members.extend(page["members"])
            cursor = page.get("response_metadata", {}).get("next_cursor")
            if not cursor:
                return members

    def user_locale(self, user: str) -> str | None:
        info = self.client.users_info(user=user, include_locale=True)
        return info["user"].get("locale")
