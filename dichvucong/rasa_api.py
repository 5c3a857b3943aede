"""The one client of the Rasa server's HTTP API (``rasa run --enable-api``).

The dossier notifier triggers intents in citizens' conversations and the
console asks the server to load a promoted model; both go through here, with
the token, the timeouts and the quoting written once.
"""
from __future__ import annotations

import dataclasses
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Optional


class RasaUnreachable(RuntimeError):
    """The server did not answer (not running, network error)."""


@dataclasses.dataclass(frozen=True)
class Reply:
    status: int
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclasses.dataclass(frozen=True)
class RasaApi:
    url: str
    token: str = ""

    def _call(self, method: str, path: str, body: Any, query: Dict[str, str],
              timeout: float) -> Reply:
        query = dict(query)
        if self.token:
            query["token"] = self.token
        url = f"{self.url.rstrip('/')}{path}" + ("?" + urllib.parse.urlencode(query) if query else "")
        request = urllib.request.Request(
            url, data=json.dumps(body).encode("utf-8"), method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return Reply(response.status, response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.read())
        except (urllib.error.URLError, OSError) as error:
            raise RasaUnreachable(str(error)) from error

    def trigger_intent(
        self,
        conversation: str,
        intent: str,
        entities: Dict[str, Any],
        output_channel: Optional[str] = None,
        timeout: float = 30,
    ) -> Reply:
        # ":" stays literal: Sanic does not unquote "%3A" in the conversation id,
        # and conversation ids are "<channel>:<id>".
        path = f"/conversations/{urllib.parse.quote(conversation, safe=':')}/trigger_intent"
        query = {"output_channel": output_channel} if output_channel else {}
        return self._call("POST", path, {"name": intent, "entities": entities}, query, timeout)

    def load_model(self, model_file: str, timeout: float = 300) -> Reply:
        return self._call("PUT", "/model", {"model_file": model_file}, {}, timeout)
