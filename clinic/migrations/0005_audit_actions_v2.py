"""The audit actions of SPEC version 2 (section 10). On SQLite the column change rebuilds the table, which drops its
append-only triggers: they are put back last."""

from django.db import migrations, models

from clinic.migrations._append_only import reinstall_on_sqlite


class Migration(migrations.Migration):

    dependencies = [
        ('clinic', '0004_audit_append_only'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='auditevent',
            name='audit_action_valid',
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='action',
            field=models.CharField(choices=[('list', 'List'), ('view', 'View'), ('create', 'Create'), ('update', 'Update'), ('sign', 'Sign'), ('addendum', 'Addendum'), ('transition', 'Stage change'), ('export', 'Export'), ('login', 'Login'), ('logout', 'Logout'), ('login_failed', 'Failed login'), ('break_glass', 'Break-glass access'), ('role_change', 'Role change'), ('draft', 'Draft saved'), ('approve', 'Approval'), ('refuse', 'Refusal'), ('release', 'Record release'), ('revoke', 'Revocation'), ('password_reset', 'Password reset'), ('device_removed', 'MFA device removed'), ('grant_end', 'Break-glass grant ended'), ('grant_review', 'Break-glass grant reviewed'), ('attendance_correction', 'Attendance correction')], max_length=24),
        ),
        migrations.AddConstraint(
            model_name='auditevent',
            constraint=models.CheckConstraint(condition=models.Q(('action__in', ['list', 'view', 'create', 'update', 'sign', 'addendum', 'transition', 'export', 'login', 'logout', 'login_failed', 'break_glass', 'role_change', 'draft', 'approve', 'refuse', 'release', 'revoke', 'password_reset', 'device_removed', 'grant_end', 'grant_review', 'attendance_correction'])), name='audit_action_valid'),
        ),
        migrations.RunPython(reinstall_on_sqlite, migrations.RunPython.noop),
    ]
