"""
kvmsg: the 12/CHP key-value message (five frames), written for this lab's interop tests
after the ZeroMQ Guide's Python kvmsg.py (chapter 5, Min RK). Not the Guide's file: the
same wire format, Python 3, bytes throughout.

    frame 0: key (0MQ string)
    frame 1: sequence (8 bytes, network order)
    frame 2: uuid (16 bytes, or empty)
    frame 3: properties ("name=value\\n"...)
    frame 4: body (empty = delete)
"""
import struct
import uuid as uuidlib


class KVMsg:
    def __init__(self, sequence, key=b"", body=b"", uuid=None, properties=None):
        self.sequence = sequence
        self.key = key
        self.body = body
        self.uuid = uuidlib.uuid4().bytes if uuid is None else uuid
        self.properties = {} if properties is None else properties

    def frames(self):
        props = b"".join(b"%s=%s\n" % (k, v) for k, v in self.properties.items())
        return [self.key, struct.pack("!q", self.sequence), self.uuid, props, self.body]

    def send(self, socket, prefix=()):
        socket.send_multipart(list(prefix) + self.frames())

    @classmethod
    def from_frames(cls, frames):
        key, seq, uuid, props, body = frames  # ValueError unless exactly five frames
        properties = {}
        for line in props.split(b"\n"):
            if b"=" in line:
                name, value = line.split(b"=", 1)
                properties[name] = value
        return cls(struct.unpack("!q", seq)[0], key, body, uuid, properties)

    def store(self, table):
        if self.body:
            table[self.key] = self
        else:
            table.pop(self.key, None)
