#!/usr/bin/env python3
"""A TCP proxy for tests: forwards every connection on --listen to --target.

With --cert and --key it terminates TLS, so a broker that only speaks plain TCP (the embedded
Tansu) can be reached the way a TLS-secured Kafka cluster is: clients verify the certificate
against their CA file and speak Kafka inside TLS. The broker advertises the proxy's address, so
every connection a client makes (bootstrap and per broker) goes through the proxy.

Prints "ready <port>" on standard output once it listens; stops on SIGTERM or SIGINT.

    tcp_proxy.py --listen 127.0.0.1:29093 --target 127.0.0.1:29092 --cert broker.pem --key broker.key
"""
import argparse
import asyncio
import signal
import ssl
import sys


def address(text):
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not host:port")
    return host, int(port)


async def pump(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, OSError):
        pass
    finally:
        try:
            writer.close()
        except Exception:  # already closed by the other side
            pass


async def main():
    parser = argparse.ArgumentParser(description="TCP (optionally TLS-terminating) proxy for tests")
    parser.add_argument("--listen", type=address, required=True)
    parser.add_argument("--target", type=address, required=True)
    parser.add_argument("--cert", help="server certificate (PEM, with its chain); enables TLS")
    parser.add_argument("--key", help="the certificate's private key (PEM)")
    args = parser.parse_args()

    context = None
    if args.cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)

    async def handle(client_reader, client_writer):
        try:
            target_reader, target_writer = await asyncio.open_connection(*args.target)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pump(client_reader, target_writer), pump(target_reader, client_writer))

    server = await asyncio.start_server(handle, *args.listen, ssl=context)
    port = server.sockets[0].getsockname()[1]
    print(f"ready {port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
