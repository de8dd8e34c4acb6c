"""Organisations (their domains and contacts) and contracts (numbers and licence keys)."""

from __future__ import annotations

from pymongo import ASCENDING

from shared.db import Database, IndexSpec, without_id

from ..domain import Contract, Organization, key_of
from .keyed import insert_new as _insert_new

ORGANIZATIONS = "organizations"
CONTRACTS = "contracts"
CONTRACT_KEYS = "contract_keys"  # "number:<KEY>" / "licence:<KEY>" -> contract id, by _id

CUSTOMER_INDEXES: list[IndexSpec] = [
    (ORGANIZATIONS, [("email_domains", ASCENDING)], False),
    (ORGANIZATIONS, [("contacts.email", ASCENDING)], False),
    (CONTRACTS, [("organization_id", ASCENDING)], False),
]


class MongoCustomers:
    def __init__(self, db: Database) -> None:
        self._orgs = db[ORGANIZATIONS]
        self._contracts = db[CONTRACTS]
        self._keys = db[CONTRACT_KEYS]

    async def insert_organization(self, org: Organization) -> bool:
        return await _insert_new(self._orgs, {"_id": org.id, **org.model_dump()})

    async def get_organization(self, org_id: str) -> Organization | None:
        doc = await self._orgs.find_one({"_id": org_id})
        return Organization.model_validate(without_id(doc)) if doc else None

    async def organization_for_domain(self, domain: str) -> Organization | None:
        doc = await self._orgs.find_one({"email_domains": domain}, sort=[("_id", ASCENDING)])
        return Organization.model_validate(without_id(doc)) if doc else None

    async def organization_for_address(self, email: str) -> Organization | None:
        doc = await self._orgs.find_one({"contacts.email": email}, sort=[("_id", ASCENDING)])
        return Organization.model_validate(without_id(doc)) if doc else None

    async def list_organizations(self, limit: int) -> list[Organization]:
        docs = await self._orgs.find().sort("_id", ASCENDING).limit(limit).to_list(limit)
        return [Organization.model_validate(without_id(d)) for d in docs]

    async def insert_contract(self, contract: Contract) -> str | None:
        """Store a contract with its number and licence keys, each unique; else what clashes.

        The keys go first, each a uniquely keyed insert, so two contracts posted at once cannot
        both take one licence key; a clash takes back the keys this call took.
        """
        keys = [("number", contract.number)] + [("licence", k) for k in contract.licence_keys]
        taken: list[str] = []
        clash: str | None = None
        for kind, key in keys:
            key_id = f"{kind}:{key_of(key)}"
            if await _insert_new(self._keys, {"_id": key_id, "contract_id": contract.id}):
                taken.append(key_id)
                continue
            owner = await self._keys.find_one({"_id": key_id})
            if owner is not None and owner["contract_id"] != contract.id:
                clash = f"{kind} {key} belongs to contract {owner['contract_id']}"
                break
        if clash is None:
            doc = {"_id": contract.id, **contract.model_dump(mode="json")}
            if not await _insert_new(self._contracts, doc):
                clash = f"contract {contract.id} exists already"
        if clash is not None and taken:
            for key_id in taken:
                await self._keys.delete_one({"_id": key_id})
        return clash

    async def contract_by_key(self, kind: str, key: str) -> Contract | None:
        owner = await self._keys.find_one({"_id": f"{kind}:{key_of(key)}"})
        if owner is None:
            return None
        doc = await self._contracts.find_one({"_id": owner["contract_id"]})
        return Contract.model_validate(without_id(doc)) if doc else None

    async def contracts_of(self, org_id: str) -> list[Contract]:
        docs = await self._contracts.find({"organization_id": org_id}).to_list(None)
        return [Contract.model_validate(without_id(d)) for d in docs]
