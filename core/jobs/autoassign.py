"""The leader's auto-assignment pass (`core.services.autoassign.run_pass`): gives out tickets that could
not be given when they opened (nobody online, everyone at the cap), takes tickets from operators who have
been away too long, and fills the room an operator has once they come online or close a ticket."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.assignment import AssignmentRules
from core.services.autoassign import PassResult, run_pass

log = logging.getLogger(__name__)


@dataclass
class AutoAssign:
    sessions: async_sessionmaker[AsyncSession]
    rules: AssignmentRules

    async def run(self) -> PassResult:
        async with self.sessions() as session, session.begin():
            result = await run_pass(session, self.rules)
        if result != PassResult():
            log.info("auto-assignment pass", extra={"assigned": result.assigned, "reassigned": result.reassigned,
                                                    "returned": result.returned})
        return result
