"""The org table: who takes leads, from where, by which rules.

Item layout (pk / sk):
- `ROSTER` / `RULES`                 the live rule chain (with its version)
- `ROSTER` / `AGENT#<id>`            agent profile and availability
- `ROSTER` / `TEAM#<id>`             team
- `ROSTER` / `POOL#<id>`             pool: members and strategy
- `ROSTER` / `RR#<pool>#<agent>`     round-robin state of one agent in one pool (stamp, total, and
                                     weighted round-robin's `vtime` and `pool_vtime`)
- `ROSTER` / `LOAD#<agent>`          the agent's open leads (`open_leads`), for least-loaded; its
                                     own item, because `put_agent` overwrites the agent item
- `ROSTER` / `DAY#<date>#<agent>`    leads assigned to the agent on that org-local day (its own
                                     item, so agents never contend with each other; expires by TTL)
- `CONFIG` / `RULES#v<000n>`         every published rule chain version, for the audit trail
- `CONFIG` / `ORG`                   organisation settings
- `CONFIG` / `ROSTER_VERSION`        moves with every change to agents, teams, pools or the rule
                                     chain: a warm router re-reads the roster only when it moved
                                     (routing/snapshot.py)
- `SOURCES` / `<source id>`          lead source (key stored as a hash; `revision` moves with every write)

Everything a routing decision needs sits in the `ROSTER` partition, so the router reads it in one
query (older day counters filtered out) whatever the number of leads stored.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from leadrelay.errors import RuleChainConflict
from leadrelay.models import Agent, Pool, Team
from leadrelay.models.settings import OrgSettings, ReturningPolicy
from leadrelay.store.dynamo import client, from_item, if_condition_holds, to_item, to_value, without_keys
from leadrelay.store.paging import query_all
from leadrelay.store.source_records import SourceRecords
from leadrelay.store.transactions import Transaction, TransactionFailed, backoff, run_transaction

if TYPE_CHECKING:  # the rules and roster models load with the first call that reads them (cold start)
    from leadrelay.models.roster import Roster, RoutingState
    from leadrelay.models.rules import RuleChain

ROSTER = "ROSTER"
CONFIG = "CONFIG"
ROSTER_VERSION_SK = "ROSTER_VERSION"


# Attempts at moving the roster version while assignment transactions hold it (`_roster_changed`).
ROSTER_BUMP_ATTEMPTS = 8


def roster_version_check(table: str, version: int) -> dict[str, Any]:
    """A TransactWriteItems `ConditionCheck` that holds only while the roster version is still
    `version`, as `OrgRepository.roster_version` read it: 0 stands for no version item (or one
    without a version), which is how that read answers before the first roster change."""
    check: dict[str, Any] = {"TableName": table, "Key": to_item({"pk": CONFIG, "sk": ROSTER_VERSION_SK})}
    if version == 0:
        check["ConditionExpression"] = "attribute_not_exists(version) OR version = :held"
    else:
        check["ConditionExpression"] = "version = :held"
    check["ExpressionAttributeValues"] = {":held": to_value(version)}
    return {"ConditionCheck": check}


# Day counters outlive their day by a little, for the API's "assigned today" and for audits.
COUNTER_DAYS_KEPT = 3


def day_sk(day: date, agent_id: str) -> str:
    return f"DAY#{day.isoformat()}#{agent_id}"


def counter_expiry(day: date) -> int:
    """Epoch seconds after which DynamoDB's TTL may delete a day counter."""
    expires = datetime.combine(day + timedelta(days=COUNTER_DAYS_KEPT), time(0), tzinfo=UTC)
    return int(expires.timestamp())


def rr_sk(pool_id: str, agent_id: str) -> str:
    return f"RR#{pool_id}#{agent_id}"


def load_sk(agent_id: str) -> str:
    return f"LOAD#{agent_id}"


def _chain(item: dict[str, Any] | None) -> RuleChain:
    """The stored chain of `item`; an empty chain (version 0) for no item."""
    from leadrelay.models.rules import RuleChain

    return RuleChain.model_validate_json(item["chain"]) if item else RuleChain(version=0)


class OrgRepository(SourceRecords):
    """Reads and writes the organisation's configuration and routing state."""

    def __init__(self, table: str) -> None:
        self.table = table

    def _put(self, pk: str, sk: str, values: dict[str, Any]) -> None:
        client().put_item(TableName=self.table, Item=to_item({"pk": pk, "sk": sk, **values}))
        if pk == ROSTER:
            self._roster_changed()

    def _roster_changed(self) -> None:
        """Move the roster version after a change to agents, teams, pools or rules, so warm
        routers read the roster again (routing/snapshot.py). After the change, never before: a
        router that reads the new version is sure to read the new roster, and an assignment
        transaction that checks the version it held (`roster_version_check`) fails once this
        has moved it, so no lead is committed from the roster as it was before the change.

        Every assignment transaction names the version item, and DynamoDB refuses a plain write
        to an item that an ongoing transaction names (TransactionConflictException, which
        botocore does not retry): the bump is retried after a jittered wait, as transactions are."""
        for retry in range(ROSTER_BUMP_ATTEMPTS):
            try:
                client().update_item(
                    TableName=self.table,
                    Key=to_item({"pk": CONFIG, "sk": ROSTER_VERSION_SK}),
                    UpdateExpression="ADD version :one",
                    ExpressionAttributeValues=to_item({":one": 1}),
                )
                return
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code != "TransactionConflictException" or retry == ROSTER_BUMP_ATTEMPTS - 1:
                    raise
                backoff(retry)

    def roster_moved(self) -> None:
        """After a change to an agent written elsewhere (presence, in an offer's transaction)."""
        self._roster_changed()

    def roster_version(self) -> int:
        """The roster version (0 before any change); one small, strongly consistent read."""
        item = self._get(CONFIG, ROSTER_VERSION_SK, consistent=True)
        return int(item.get("version", 0)) if item else 0

    def _get(self, pk: str, sk: str, consistent: bool = False) -> dict[str, Any] | None:
        response = client().get_item(TableName=self.table, Key=to_item({"pk": pk, "sk": sk}), ConsistentRead=consistent)
        item = response.get("Item")
        return without_keys(from_item(item)) if item else None

    # -- roster ----------------------------------------------------------------------------------

    def load_routing_state(self, day: date | None = None) -> RoutingState:
        """Rules, agents, teams, pools, round-robin stamps and `day`'s counters in one query."""
        # Older days' counters come back too (until TTL removes them) and are skipped here: a
        # FilterExpression would not lower the read cost, and the partition stays small.
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": to_item({":pk": ROSTER}),
            "ConsistentRead": True,
        }
        from leadrelay.models.roster import Roster, RoundRobinState, RoutingState

        today = f"{day.isoformat()}#" if day is not None else None
        state = RoutingState(chain=_chain(None), roster=Roster())
        roster = state.roster
        for item in query_all(**kwargs):
            kind, _, rest = item["sk"].partition("#")
            body = without_keys(item)
            if kind == "AGENT":
                roster.agents[rest] = Agent.model_validate(body)
            elif kind == "TEAM":
                roster.teams[rest] = Team.model_validate(body)
            elif kind == "POOL":
                roster.pools[rest] = Pool.model_validate(body)
            elif kind == "RR":
                pool_id, _, agent_id = rest.partition("#")
                pool_vtime = Decimal(str(body.get("pool_vtime", 0)))
                roster.round_robin[(pool_id, agent_id)] = RoundRobinState(
                    last_assigned_ms=int(body.get("last_assigned_ms", 0)),
                    total=int(body.get("assigned_total", 0)),
                    # An item only accrued turns wrote (routing/accrual.py) has no stamp yet.
                    exists="last_assigned_ms" in body,
                    vtime=Decimal(str(body.get("vtime", 0))),
                    pool_vtime=pool_vtime,
                    missed=int(body.get("missed", 0)),
                    last_extra_ms=int(body.get("last_extra_ms", 0)),
                )
                if pool_vtime > roster.virtual_time.get(pool_id, Decimal(0)):
                    roster.virtual_time[pool_id] = pool_vtime
            elif kind == "LOAD":
                roster.open_leads[rest] = int(body.get("open_leads", 0))
            elif kind == "DAY" and today is not None and rest.startswith(today):
                state.counts_today[rest[len(today) :]] = int(body.get("assigned", 0))
            elif kind == "RULES":
                state.chain = _chain(body)
        return state

    def load_roster(self) -> Roster:
        """Agents, teams, pools and round-robin state."""
        return self.load_routing_state().roster

    def put_agent(self, agent: Agent) -> None:
        self._put(ROSTER, f"AGENT#{agent.agent_id}", agent.model_dump(mode="python", exclude_none=True))

    def get_agent(self, agent_id: str) -> Agent | None:
        item = self._get(ROSTER, f"AGENT#{agent_id}", consistent=True)
        return Agent.model_validate(item) if item else None

    def set_availability(self, agent_id: str, status: str, until: datetime | None) -> Agent | None:
        """Change an agent's status; routing honours it from the next lead. None if no such agent."""
        expression = "SET #status = :status"
        values: dict[str, Any] = {":status": status}
        if until is None:
            expression += " REMOVE status_until"
        else:
            expression += ", status_until = :until"
            values[":until"] = until
        response = if_condition_holds(
            client().update_item,
            TableName=self.table,
            Key=to_item({"pk": ROSTER, "sk": f"AGENT#{agent_id}"}),
            UpdateExpression=expression,
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={k: to_value(v) for k, v in values.items()},
            ConditionExpression="attribute_exists(pk)",
            ReturnValues="ALL_NEW",
        )
        if response is None:
            return None
        self._roster_changed()
        return Agent.model_validate(without_keys(from_item(response["Attributes"])))

    def _conditional_put(self, sk: str, values: dict[str, Any], condition: str) -> bool:
        """Put `ROSTER/<sk>` if `condition` holds; False when it does not."""
        item = to_item({"pk": ROSTER, "sk": sk, **values})
        written = (
            if_condition_holds(client().put_item, TableName=self.table, Item=item, ConditionExpression=condition)
            is not None
        )
        if written:
            self._roster_changed()
        return written

    def _delete(self, sk: str) -> bool:
        """Delete `ROSTER/<sk>`; False if it does not exist."""
        key = to_item({"pk": ROSTER, "sk": sk})
        deleted = if_condition_holds(
            client().delete_item, TableName=self.table, Key=key, ConditionExpression="attribute_exists(pk)"
        )
        if deleted is not None:
            self._roster_changed()
        return deleted is not None

    def create_agent(self, agent: Agent) -> bool:
        """Add a new agent; False if the id is taken."""
        values = agent.model_dump(mode="python", exclude_none=True)
        return self._conditional_put(f"AGENT#{agent.agent_id}", values, "attribute_not_exists(pk)")

    def replace_agent(self, agent: Agent) -> bool:
        """Replace an existing agent's profile; False if there is no such agent. Counters and
        round-robin state live on their own items, so a profile edit never resets them."""
        values = agent.model_dump(mode="python", exclude_none=True)
        return self._conditional_put(f"AGENT#{agent.agent_id}", values, "attribute_exists(pk)")

    def delete_agent(self, agent_id: str) -> bool:
        """Remove an agent and take them out of every pool; False if there is no such agent.

        Their leads keep their owner and history; round-robin and day counters are left to age out.
        """
        if not self._delete(f"AGENT#{agent_id}"):
            return False
        for pool in self.load_roster().pools.values():
            if agent_id in pool.agent_ids:
                self.put_pool(pool.model_copy(update={"agent_ids": [a for a in pool.agent_ids if a != agent_id]}))
        return True

    def note_agent_history(self, agent_id: str, at: datetime, kind: str, *, by: str, summary: str) -> None:
        """Append to an agent's history (`AGENTLOG#<id>` / `<at>#<event id>`), apart from the roster
        partition the router reads."""
        from leadrelay.ids import new_id

        self._put(f"AGENTLOG#{agent_id}", f"{at.isoformat()}#{new_id(at)}", {"at": at, "kind": kind, "by": by,
                  "summary": summary, "agent_id": agent_id})  # fmt: skip

    def agent_history(self, agent_id: str) -> list[dict[str, Any]]:
        """The agent's history, oldest first."""
        items = query_all(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=to_item({":pk": f"AGENTLOG#{agent_id}"}),
        )
        return [without_keys(item) for item in items]

    def put_team(self, team: Team) -> None:
        self._put(ROSTER, f"TEAM#{team.team_id}", team.model_dump(mode="python", exclude_none=True))

    def put_pool(self, pool: Pool) -> None:
        self._put(ROSTER, f"POOL#{pool.pool_id}", pool.model_dump(mode="python", exclude_none=True))

    def delete_pool(self, pool_id: str) -> bool:
        """Remove a pool; False if there is no such pool."""
        return self._delete(f"POOL#{pool_id}")

    # -- day counters ----------------------------------------------------------------------------

    def day_counts(self, day: date) -> dict[str, int]:
        """Leads assigned to each agent on the org-local `day`."""
        items = query_all(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :day)",
            ExpressionAttributeValues=to_item({":pk": ROSTER, ":day": f"DAY#{day.isoformat()}#"}),
            ConsistentRead=True,
        )
        return {item["sk"].split("#", 2)[2]: int(item.get("assigned", 0)) for item in items}

    # -- organisation settings -------------------------------------------------------------------

    def get_org_settings(self) -> OrgSettings:
        """The organisation's settings; defaults for whatever was never set."""
        item = self._get(CONFIG, "ORG") or {}
        return OrgSettings.model_validate({k: v for k, v in item.items() if k in OrgSettings.model_fields})

    def put_returning_policy(self, policy: ReturningPolicy) -> OrgSettings:
        """Replace the returning-lead policy, keeping the other settings."""
        client().update_item(
            TableName=self.table,
            Key=to_item({"pk": CONFIG, "sk": "ORG"}),
            UpdateExpression="SET #returning = :policy",
            ExpressionAttributeNames={"#returning": "returning"},
            ExpressionAttributeValues=to_item({":policy": policy.model_dump()}),
        )
        return self.get_org_settings()

    def put_org_settings(self, settings: OrgSettings) -> OrgSettings:
        """Replace the settings a person edits (the whole document GET /settings shows), keeping
        any other attribute of the item."""
        values = settings.model_dump(mode="python")
        names = {f"#s{i}": name for i, name in enumerate(values)}
        sets = [f"#s{i} = :s{i}" for i, value in enumerate(values.values()) if value is not None]
        removes = [f"#s{i}" for i, value in enumerate(values.values()) if value is None]
        client().update_item(
            TableName=self.table,
            Key=to_item({"pk": CONFIG, "sk": "ORG"}),
            UpdateExpression="SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else ""),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_item(
                {f":s{i}": value for i, value in enumerate(values.values()) if value is not None}
            ),
        )
        return self.get_org_settings()

    # -- rules -----------------------------------------------------------------------------------

    def get_rule_chain(self) -> RuleChain:
        """The live rule chain; an empty chain (version 0) before any is published."""
        item = self._get(ROSTER, "RULES", consistent=True)
        return _chain(item)

    def publish_rule_chain(self, chain: RuleChain, expected_version: int | None = None) -> RuleChain:
        """Store `chain` as the next version; the live pointer and the history in one transaction.

        `expected_version` (when given) must be the live version, so that two people editing the
        rules cannot silently overwrite each other. Raises `RuleChainConflict` when the live
        version is not the expected one or moved while publishing.
        """
        current = self.get_rule_chain()
        if expected_version is not None and expected_version != current.version:
            raise RuleChainConflict(
                f"the live rule chain is version {current.version}, not {expected_version}; reload and edit again"
            )
        published = chain.model_copy(update={"version": current.version + 1})
        # The chain is one JSON document: read whole on every routing decision, never queried into,
        # and far cheaper to (de)serialise than a deeply nested DynamoDB map.
        body = {
            "version": published.version,
            "chain": published.model_dump_json(exclude_none=True, by_alias=True),
        }
        txn = Transaction()
        txn.put(
            self.table,
            {"pk": ROSTER, "sk": "RULES", **body},
            "attribute_not_exists(pk) OR version = :v",
            **{":v": current.version},
        )
        txn.put(self.table, {"pk": CONFIG, "sk": rules_version_sk(published.version), **body})
        try:
            run_transaction(txn.items)
        except TransactionFailed as failed:
            if failed.failed_conditions():
                raise RuleChainConflict(
                    "someone else published the rule chain meanwhile; reload and edit again"
                ) from failed
            raise
        self._roster_changed()
        return published

    def get_rule_chain_version(self, version: int) -> RuleChain | None:
        """One published version of the rule chain, as it was published; None if there is none."""
        item = self._get(CONFIG, rules_version_sk(version))
        return _chain(item) if item else None

    def list_rule_chain_versions(self) -> list[RuleChain]:
        """Every published version, oldest first."""
        items = query_all(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=to_item({":pk": CONFIG, ":prefix": "RULES#v"}),
        )
        return [_chain(item) for item in items]


def rules_version_sk(version: int) -> str:
    return f"RULES#v{version:06d}"
