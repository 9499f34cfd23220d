"""Audit version 2 (SPEC section 7): events hash only their own content and carry their transaction id, written
without any lock; seals chain them afterwards in a second append-only table; TRUNCATE refused on both. The events
written so far keep their `sequence` and `prev_hash` (their chain still verifies) and get txid 0, so the first seal
takes them first. On SQLite the column changes rebuild the table, which drops its triggers: they are put back last."""

import clinic.models
from django.db import migrations, models

from clinic.migrations._append_only import install_v2, reinstall_on_sqlite, remove_v2


class Migration(migrations.Migration):

    dependencies = [
        ('clinic', '0005_audit_actions_v2'),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditSeal',
            fields=[
                ('id', models.BigAutoField(primary_key=True, serialize=False)),
                ('sequence', models.BigIntegerField(unique=True)),
                ('sealed_at', models.DateTimeField()),
                ('first_event_id', models.BigIntegerField()),
                ('first_txid', models.BigIntegerField()),
                ('last_event_id', models.BigIntegerField()),
                ('last_txid', models.BigIntegerField()),
                ('event_count', models.PositiveIntegerField()),
                ('horizon', models.BigIntegerField()),
                ('merkle_root', models.CharField(max_length=64)),
                ('prev_hash', models.CharField(max_length=64)),
                ('hash', models.CharField(max_length=64, unique=True)),
            ],
            options={
                'ordering': ['sequence'],
            },
        ),
        migrations.AlterModelOptions(
            name='auditevent',
            options={'ordering': ['-id']},
        ),
        # In two steps, so that existing rows get 0 rather than this migration's transaction id.
        migrations.AddField(
            model_name='auditevent',
            name='txid',
            field=models.BigIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='txid',
            field=models.BigIntegerField(db_default=clinic.models.TransactionId()),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='hash',
            field=models.CharField(max_length=64),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='prev_hash',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='sequence',
            field=models.BigIntegerField(blank=True, null=True, unique=True),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['txid', 'id'], name='audit_seal_order_idx'),
        ),
        migrations.AddIndex(
            model_name='auditseal',
            index=models.Index(fields=['last_txid', 'last_event_id'], name='audit_seal_last_idx'),
        ),
        migrations.AddConstraint(
            model_name='auditseal',
            constraint=models.CheckConstraint(condition=models.Q(('event_count__gt', 0)), name='audit_seal_not_empty'),
        ),
        migrations.RunPython(install_v2, remove_v2),
        migrations.RunPython(reinstall_on_sqlite, migrations.RunPython.noop),
    ]
