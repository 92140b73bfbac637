"""`python -m bot COMMAND`: run | migrate | console | seed-demo | backup | backup-rotate |
restore | copy-db.

The composition root: the one module of bot/ that imports handlers/ (their routers go to
bot.factory.build_app through the runner, the webhook server or the console).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.config import ConfigError, Settings, load_settings


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the bot (long polling or webhook; console if no BOT_TOKEN)")
    sub.add_parser("migrate", help="apply database migrations")
    console = sub.add_parser("console", help="chat with the bot in this terminal, no Telegram "
                             "needed")
    console.add_argument("--tour", action="store_true", help="play a scripted tour on a "
                         "database of its own: registration, a contest to certificates, a "
                         "webinar, a broadcast")
    console.add_argument("--channel", choices=("telegram", "whatsapp"), default="telegram",
                         help="whatsapp: you are a WhatsApp person and see reply buttons, "
                         "lists and numbered menus as WhatsApp shows them")
    seed = sub.add_parser("seed-demo", help="fill the database with reproducible demo data")
    seed.add_argument("--users", type=int, default=2000)
    seed.add_argument("--events", type=int, default=20000)
    seed.add_argument("--seed", type=int, default=42)
    backup = sub.add_parser("backup", help="consistent online backup of the database "
                            "(SQLite: a database file; PostgreSQL: a pg_dump archive)")
    backup.add_argument("path")
    rotate = sub.add_parser("backup-rotate", help="a new backup in FOLDER, then only the newest "
                            "of each recent day and week kept")
    rotate.add_argument("folder")
    rotate.add_argument("--keep-daily", type=int, default=7, metavar="N")
    rotate.add_argument("--keep-weekly", type=int, default=8, metavar="N")
    restore = sub.add_parser("restore", help="replace the database with a backup (stop the "
                             "bot first)")
    restore.add_argument("path")
    copy = sub.add_parser("copy-db", help="copy this database into another (e.g. PostgreSQL)")
    copy.add_argument("--to", required=True, dest="target")
    return parser.parse_args(argv)


async def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "migrate":
        from db.migrate import upgrade_async

        await upgrade_async(settings.database_url)
        print("database is up to date")
        return 0
    if args.command == "console" or (args.command == "run" and settings.token is None
                                     and not settings.whatsapp_enabled):
        from bot.console import run_console
        from handlers import setup_routers

        if args.command == "run":
            print("BOT_TOKEN is not set: starting the local console instead. To connect to "
                  "Telegram, put BOT_TOKEN=<token from @BotFather> in .env and run again.\n")
        await run_console(settings, routers=setup_routers,
                          tour=getattr(args, "tour", False),
                          channel=getattr(args, "channel", "telegram"))
        return 0
    if args.command == "run":
        return await _run(settings)
    if args.command in ("backup", "restore"):
        from bot.backup import backup, restore

        await (backup if args.command == "backup" else restore)(settings.database_url, args.path)
        print(f"{args.command} done: {args.path}")
        return 0
    if args.command == "backup-rotate":
        from bot.backup import backup_rotate

        target, removed = await backup_rotate(settings.database_url, args.folder,
                                              args.keep_daily, args.keep_weekly)
        print(f"backup done: {target}")
        for path in removed:
            print(f"removed old backup: {path}")
        return 0
    if args.command == "seed-demo":
        return await _seed(settings, args)
    if args.command == "copy-db":
        from sqlalchemy.engine import make_url

        from bot.copydb import copy_db

        await copy_db(settings.database_url, args.target)
        print(f"copied to {make_url(args.target).render_as_string(hide_password=True)}")
        return 0
    return 2


async def _run(settings: Settings) -> int:
    from bot.runner import AlreadyRunning, run_polling
    from handlers import setup_routers

    try:
        if settings.webhook_url:
            from bot.webhook import run_webhook_process

            await run_webhook_process(settings, routers=setup_routers)
        else:
            await run_polling(settings, routers=setup_routers)
    except AlreadyRunning as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    return 0


async def _seed(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.demo import seed_demo
    from db.engine import create_engine, create_sessionmaker
    from db.migrate import upgrade_async

    await upgrade_async(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        summary = await seed_demo(create_sessionmaker(engine), users=args.users,
                                  events=args.events, seed=args.seed)
    finally:
        await engine.dispose()
    print(f"demo data: {summary}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    from bot.datadir import use_data_folder
    from bot.logs import setup_logging

    setup_logging(settings.log_level, settings.log_format, settings.secret_values())
    if args.command in ("run", "console"):  # the bot itself: exports, charts, certificates
        try:
            use_data_folder(settings.data_folder, process_temp=True)
        except OSError as exc:
            print(f"configuration error: DATA_DIR: cannot use {settings.data_folder.resolve()}"
                  f" ({exc.strerror or exc})", file=sys.stderr)
            return 2
    try:
        return asyncio.run(dispatch(args, settings))
    except KeyboardInterrupt:
        return 130
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a known refusal (e.g. copy-db into a non-empty database)
        from bot.copydb import CopyDbError

        if isinstance(exc, CopyDbError):
            print(f"error: {exc}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
