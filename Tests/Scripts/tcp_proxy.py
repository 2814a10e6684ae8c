#!/usr/bin/env python3
"""A TCP proxy for tests: forwards every connection on --listen to --target.

With --cert and --key it terminates TLS, so a broker that only speaks plain TCP (the embedded
Tansu) can be reached the way a TLS-secured Kafka cluster is: clients verify the certificate
against their CA file and speak Kafka inside TLS. The broker advertises the proxy's address, so
every connection a client makes (bootstrap and per broker) goes through the proxy.

It also breaks the network on command, one command per line on standard input:

    cut            close every connection and refuse new ones (they are closed at once)
    latency <ms>   delay every chunk, both directions, by <ms> milliseconds
    drop up|down   swallow what clients send (up) or what the broker answers (down); the
                   connections stay open, as with a one-way network failure
    drop both      swallow everything both ways, on open and new connections alike: a network
                   cut as the two ends see it (nothing arrives, nothing is closed)
    restore        back to forwarding everything at once

and answers "ok <command>" on standard output once it applies. Prints "ready <port>" once it
listens; stops on SIGTERM, SIGINT or end of input.

    tcp_proxy.py --listen 127.0.0.1:29093 --target 127.0.0.1:29092 [--cert broker.pem --key broker.key]
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


class Faults:
    def __init__(self):
        self.cut = False
        self.latency = 0.0
        self.drop = None  # "up" or "down"
        self.writers = set()

    def apply(self, words):
        if words == ["cut"]:
            self.cut = True
            for writer in list(self.writers):
                writer.close()
        elif len(words) == 2 and words[0] == "latency" and words[1].isdigit():
            self.latency = int(words[1]) / 1000
        elif len(words) == 2 and words[0] == "drop" and words[1] in ("up", "down", "both"):
            self.drop = words[1]
        elif words == ["restore"]:
            self.cut, self.latency, self.drop = False, 0.0, None
        else:
            return False
        return True


async def pump(reader, writer, faults, direction):
    try:
        while True:
            data = await reader.read(65536)
            if not data or faults.cut:
                break
            if faults.latency:
                await asyncio.sleep(faults.latency)
            if faults.drop in (direction, "both"):
                continue
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, OSError):
        pass
    finally:
        try:
            writer.close()
        except Exception:  # already closed by the other side
            pass


async def control(faults, stop):
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            stop.set()
            return
        words = line.decode().split()
        if words:
            print(("ok " if faults.apply(words) else "unknown ") + " ".join(words), flush=True)


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
    faults = Faults()

    async def handle(client_reader, client_writer):
        if faults.cut:
            client_writer.close()
            return
        try:
            target_reader, target_writer = await asyncio.open_connection(*args.target)
        except OSError:
            client_writer.close()
            return
        faults.writers.update((client_writer, target_writer))
        try:
            await asyncio.gather(
                pump(client_reader, target_writer, faults, "up"), pump(target_reader, client_writer, faults, "down"))
        finally:
            faults.writers.difference_update((client_writer, target_writer))

    server = await asyncio.start_server(handle, *args.listen, ssl=context)
    port = server.sockets[0].getsockname()[1]
    print(f"ready {port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    commands = asyncio.ensure_future(control(faults, stop))
    async with server:
        await stop.wait()
    commands.cancel()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
