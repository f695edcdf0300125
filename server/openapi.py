"""OpenAPI that says what the server enforces, so clients and schemathesis can trust it.

Litestar's schema for a msgspec Struct misses two things msgspec enforces: a Struct with
``forbid_unknown_fields=True`` refuses unknown fields (the schema must say
``additionalProperties: false``), and constraints on the items of a container
(``list[Annotated[str, Meta(min_length=1)]]``) are dropped. This plugin adds both. It
extends Litestar's own Struct plugin, which Litestar (pinned below 3) exports only from a
private module; the schemathesis test fails if that ever changes behaviour.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.openapi.spec import OpenAPIType, Schema

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.typing import FieldDefinition

mi = msgspec.inspect
CONTAINERS = (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)


class StrictStructSchemaPlugin(StructSchemaPlugin):
    """Litestar's Struct schema plus what it leaves out. App plugins come before Litestar's
    own, so this one is used for every Struct."""

    def to_openapi_schema(
        self, field_definition: FieldDefinition, schema_creator: SchemaCreator
    ) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        info = mi.type_info(field_definition.type_)
        if not isinstance(info, mi.StructType):
            return schema
        if info.forbid_unknown_fields:
            schema.additional_properties = False
        for field in info.fields:
            _constrain((schema.properties or {}).get(field.encode_name), field.type)
        return schema


def _constrain(schema: Any, kind: mi.Type) -> None:
    """Copy msgspec's constraints for ``kind`` onto ``schema`` where Litestar left them out."""
    if not isinstance(schema, Schema):
        return  # a $ref: the referenced component gets its own pass
    if isinstance(kind, mi.UnionType):
        options = [t for t in kind.types if not isinstance(t, mi.NoneType)]
        if len(options) == 1:
            for member in schema.one_of or [schema]:
                if getattr(member, "type", None) is not OpenAPIType.NULL:
                    _constrain(member, options[0])
        return
    if isinstance(kind, CONTAINERS):
        _constrain(schema.items, kind.item_type)
    elif isinstance(kind, mi.DictType):
        _constrain(schema.additional_properties, kind.value_type)
    elif isinstance(kind, mi.StrType):
        _fill(schema, min_length=kind.min_length, max_length=kind.max_length, pattern=kind.pattern)
    elif isinstance(kind, mi.IntType | mi.FloatType):
        _fill(
            schema,
            minimum=kind.ge,
            maximum=kind.le,
            exclusive_minimum=kind.gt,
            exclusive_maximum=kind.lt,
            multiple_of=kind.multiple_of,
        )


def _fill(schema: Schema, **constraints: Any) -> None:
    for name, value in constraints.items():
        if value is not None and getattr(schema, name) is None:
            setattr(schema, name, value)
