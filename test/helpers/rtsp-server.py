#!/usr/bin/python3
# A real RTSP server for the tests, from GStreamer's gst-rtsp-server (Debian's python3-gi).
#   rtsp-server.py record <port> <file>  accepts a publish (ANNOUNCE/RECORD, over TCP or UDP) of
#                                        H.264 at rtsp://127.0.0.1:<port>/live, into <file> (MKV)
#   rtsp-server.py play <port> <fps>     serves a live 320x240 H.264 test picture at /live
#   rtsp-server.py play-once <port> <n>  the same at 25 fps, ending after n frames (EOS)
#   rtsp-server.py relay <port> <udp>    serves at /live the H.264 in RTP (payload 96) arriving on
#                                        UDP port <udp> of 127.0.0.1 (a relay fed by the project's Server)
# Prints "ready" once it listens. Run with the system python3, which has gi.
import signal
import sys

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

Gst.init(None)
mode, port, arg = sys.argv[1], sys.argv[2], sys.argv[3]

server = GstRtspServer.RTSPServer()
server.set_address('127.0.0.1')
server.set_service(port)
factory = GstRtspServer.RTSPMediaFactory()
if mode == 'record':
    factory.set_transport_mode(GstRtspServer.RTSPTransportMode.RECORD)
    # A generous jitter buffer: on a busy machine, packets held up by the scheduler must not be
    # dropped as late (the default 200 ms lost a frame now and then under load).
    factory.set_latency(2000)
    # At TEARDOWN, push an EOS through the pipeline and wait for it to reach the file before
    # stopping: without it, frames still queued in the jitter buffer or the parser are thrown away
    # (CI lost the last frame of a TCP publish this way; a pipeline slowed down on purpose lost 45 of 75).
    factory.set_eos_shutdown(True)
    factory.set_launch(f'( rtph264depay name=depay0 ! h264parse ! matroskamux streamable=true ! filesink location={arg} )')
elif mode == 'play':
    factory.set_launch(
        f'( videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate={arg}/1 '
        f'! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={arg} ! rtph264pay name=pay0 pt=96 )')
    factory.set_shared(True)
elif mode == 'play-once':
    # A stream with an end: <arg> frames at 25 fps, then EOS (RTCP BYE to the reader).
    factory.set_launch(
        f'( videotestsrc is-live=true num-buffers={arg} pattern=ball ! video/x-raw,width=320,height=240,framerate=25/1 '
        f'! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=25 ! rtph264pay name=pay0 pt=96 )')
elif mode == 'relay':
    factory.set_launch(
        f'( udpsrc address=127.0.0.1 port={arg} buffer-size=4194304 '
        f'caps="application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96" '
        f'! rtph264depay ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1 )')
    factory.set_shared(True)
    factory.set_latency(0)
else:
    sys.exit(f'unknown mode {mode}')
server.get_mount_points().add_factory('/live', factory)
if server.attach(None) == 0:
    sys.exit('cannot listen')

loop = GLib.MainLoop()
signal.signal(signal.SIGTERM, lambda *_: loop.quit())
print('ready', flush=True)
loop.run()
