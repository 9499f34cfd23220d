"""API views: translate HTTP into service calls and back; the policy decides who may do what."""
