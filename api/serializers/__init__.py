"""Serializers: the API's shapes. Writable fields are listed explicitly; unknown keys are refused."""
