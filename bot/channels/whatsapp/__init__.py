"""WhatsApp (Business Cloud API) as a transport under the bot's one aiogram Dispatcher.

- client.py: the one module that knows pywa (sending, media, webhook signatures);
- render.py: inline keyboards as reply buttons, a list or a numbered menu; HTML as *bold*;
- session.py: WhatsAppSession, an aiogram session that sends through the client;
- inbound.py: webhook messages as aiogram Updates; contacts.py: who is who;
- transport.py: the WhatsApp Bot, the webhook's routes, the way to the Dispatcher.
"""
