"""Organisations (their domains and contacts) and contracts (numbers and licence keys)."""

from __future__ import annotations

from pymongo import ASCENDING

from shared.db import Database, Document, IndexSpec, without_id
from shared.paging import BY_ID, Position, Slice, read_slice
from shared.records import load_one, loaded

from ..domain import Contract, Organization, key_of
from .keyed import insert_new as _insert_new

ORGANIZATIONS = "organizations"
CONTRACTS = "contracts"
CONTRACT_KEYS = "contract_keys"  # "number:<KEY>" / "licence:<KEY>" -> contract id, by _id
ORGANIZATION_KEYS = "organization_keys"  # "domain:<d>" / "contact:<address>" -> organisation id

CUSTOMER_INDEXES: list[IndexSpec] = [
    (ORGANIZATIONS, [("email_domains", ASCENDING)], False),
    (ORGANIZATIONS, [("contacts.email", ASCENDING)], False),
    (CONTRACTS, [("organization_id", ASCENDING), ("_id", ASCENDING)], False),
]


class MongoCustomers:
    def __init__(self, db: Database) -> None:
        self._orgs = db[ORGANIZATIONS]
        self._contracts = db[CONTRACTS]
        self._keys = db[CONTRACT_KEYS]
        self._org_keys = db[ORGANIZATION_KEYS]

    async def insert_organization(self, org: Organization) -> str | None:
        """Store an organisation whose e-mail domains and contact addresses no other one has;
        else what clashes. Each domain and address is a uniquely keyed claim taken before the
        organisation (two organisations posted at once cannot both take one), and one owned by
        an organisation stored before the claims existed is found by its index; a clash takes
        back the claims this call took."""
        keys = list(
            dict.fromkeys(
                [("domain", d) for d in org.email_domains]
                + [("contact", c.email) for c in org.contacts]
            )
        )
        clash = await self._owned_elsewhere(org.id, keys)
        taken: list[str] = []
        for kind, key in [] if clash else keys:
            key_id = f"{kind}:{key}"
            if await _insert_new(self._org_keys, {"_id": key_id, "organization_id": org.id}):
                taken.append(key_id)
                continue
            owner = await self._org_keys.find_one({"_id": key_id})
            if owner is not None and owner["organization_id"] != org.id:
                clash = f"{kind} {key} belongs to organisation {owner['organization_id']}"
                break
        if clash is None and not await _insert_new(self._orgs, {"_id": org.id, **org.model_dump()}):
            clash = f"organisation {org.id} exists already"
        for key_id in taken if clash else []:
            await self._org_keys.delete_one({"_id": key_id})
        return clash

    async def _owned_elsewhere(self, org_id: str, keys: list[tuple[str, str]]) -> str | None:
        for kind, key in keys:
            field = "email_domains" if kind == "domain" else "contacts.email"
            other = await self._orgs.find_one({field: key, "_id": {"$ne": org_id}}, {"_id": 1})
            if other is not None:
                return f"{kind} {key} belongs to organisation {other['_id']}"
        return None

    async def get_organization(self, org_id: str) -> Organization | None:
        doc = await self._orgs.find_one({"_id": org_id})
        return _organization(doc) if doc else None

    async def organization_for_domain(self, domain: str) -> Organization | None:
        doc = await self._orgs.find_one({"email_domains": domain}, sort=[("_id", ASCENDING)])
        return _organization(doc) if doc else None

    async def organization_for_address(self, email: str) -> Organization | None:
        doc = await self._orgs.find_one({"contacts.email": email}, sort=[("_id", ASCENDING)])
        return _organization(doc) if doc else None

    async def list_organizations(self, limit: int, after: str | None = None) -> list[Organization]:
        """By id; `after`: those whose id sorts after it (the next page)."""
        query = {} if after is None else {"_id": {"$gt": after}}
        docs = await self._orgs.find(query).sort("_id", ASCENDING).limit(limit).to_list(limit)
        return loaded(Organization, (without_id(d) for d in docs), ORGANIZATIONS, "intake")

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
        return load_one(Contract, without_id(doc), CONTRACTS, "intake") if doc else None

    async def contracts_of(self, org_id: str) -> list[Contract]:
        docs = await self._contracts.find({"organization_id": org_id}).to_list(None)
        return loaded(Contract, (without_id(d) for d in docs), CONTRACTS, "intake")

    async def contract_page(
        self, org_id: str, limit: int, after: Position | None
    ) -> Slice[Contract]:
        """An organisation's contracts by id, from its index."""
        found = await read_slice(self._contracts, BY_ID, limit, after, {"organization_id": org_id})
        docs = (without_id(d) for d in found.items)
        return Slice(loaded(Contract, docs, CONTRACTS, "intake"), found.more_after)


def _organization(doc: Document) -> Organization:
    return load_one(Organization, without_id(doc), ORGANIZATIONS, "intake")
