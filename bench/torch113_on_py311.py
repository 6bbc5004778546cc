"""Lets Debian 12's python3-torch (1.13) import its distributed checkpoint on Python 3.11.

torch 1.13 declares dataclass fields whose default is another dataclass instance, given directly
or as field(default=...); Python 3.11 rejects such unhashable defaults when the class is built.
Before each dataclass is processed, such a default is turned into a default_factory returning a
copy of it, which is what the check asks for. Import this module before torch.
"""
import copy
import dataclasses
import functools

_process_class = dataclasses._process_class


def _unhashable_instance(value):
    return dataclasses.is_dataclass(value) and not isinstance(value, type) and type(value).__hash__ is None


def _process_class_with_copied_defaults(cls, *args, **kwargs):
    for name in cls.__dict__.get("__annotations__", {}):
        value = cls.__dict__.get(name)
        if isinstance(value, dataclasses.Field):
            if _unhashable_instance(value.default):
                value.default_factory = functools.partial(copy.deepcopy, value.default)
                value.default = dataclasses.MISSING
        elif _unhashable_instance(value):
            setattr(cls, name, dataclasses.field(default_factory=functools.partial(copy.deepcopy, value)))
    return _process_class(cls, *args, **kwargs)


dataclasses._process_class = _process_class_with_copied_defaults
