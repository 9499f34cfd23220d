"""The REST layer: serializers, views, filters and urls; thin, it calls cases/ and clinic/."""
