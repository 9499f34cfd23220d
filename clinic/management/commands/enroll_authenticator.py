"""`manage.py enroll_authenticator USERNAME`: set up an authenticator app (TOTP) for a member of staff from the
command line, e.g. for the first administrator before anyone can open the admin; prints the QR code to scan."""

import io
from typing import Any

import qrcode
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.models import User
from clinic.roles import Role


class Command(BaseCommand):
    help = (
        "Add a TOTP device for USERNAME and print its QR code and otpauth:// address to scan into an authenticator "
        "app. The secret is shown once, here: run it where nobody else can read the terminal."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--name", default="Authenticator app", help="what to call the device in the admin"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No member of staff has the username {options['username']!r}.")
        # Only to bootstrap the first administrator (SPEC section 2): everyone else enrols their own app, signed
        # in, at /accounts/authenticator/.
        is_admin = user.is_superuser or Role.ADMINISTRATOR in user.roles
        if not is_admin or TOTPDevice.objects.filter(confirmed=True).exists():
            raise CommandError(
                "Only the first administrator is enrolled here, before anyone has an authenticator; everyone else "
                "sets up their own app, signed in, at /accounts/authenticator/."
            )
        device = TOTPDevice.objects.create(user=user, name=options["name"], confirmed=True)
        code = qrcode.QRCode(border=1)
        code.add_data(device.config_url)
        picture = io.StringIO()
        code.print_ascii(out=picture, invert=True)
        self.stdout.write(picture.getvalue())
        self.stdout.write(device.config_url)
        self.stdout.write(
            f"Added authenticator {device.name!r} for {user.username}; scan the code above into the app, then sign "
            "in with the 6-digit code it shows."
        )
