#!/bin/sh
# Regenerates the small test clips next to this script: 320x180, 30 fps, 60 frames
# (2 s) of ffmpeg's testsrc2, a keyframe every 30 frames (frames 0 and 30), every
# frame shown (no hidden/alt-ref frames, no B-frames), so that one frame of the file
# is one picture on the wire. Documentation: the tests use the committed files and
# never run this. Made with Debian 12's ffmpeg 5.1 (libvpx 1.12, libaom 3.6,
# libx264 164); other versions give other (equally valid) bytes.
#
#   clip-vp9.ivf    VP9 profile 0 in IVF (fourcc VP90)
#   clip-av1.ivf    AV1 main profile in IVF (fourcc AV01), libaom's real-time mode;
#                   each frame a temporal unit (temporal delimiter, the sequence
#                   header on keyframes, one frame OBU)
#   clip-h264.h264  H.264 constrained baseline, level 3.1, Annex B: an access unit
#                   delimiter before every picture, SPS and PPS before every IDR
#
# clip.ivf (VP8, 150 frames) is older; its command is in README.md.
set -eu
cd "$(dirname "$0")"
src="-f lavfi -i testsrc2=size=320x180:rate=30 -frames:v 60 -pix_fmt yuv420p -threads 1"
gop="-g 30 -keyint_min 30"
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }

# shellcheck disable=SC2086
ff $src -c:v libvpx-vp9 -b:v 150k $gop -auto-alt-ref 0 -lag-in-frames 0 \
  -deadline good -cpu-used 4 -row-mt 0 -f ivf clip-vp9.ivf
# shellcheck disable=SC2086
ff $src -c:v libaom-av1 -usage realtime -cpu-used 8 -b:v 150k $gop \
  -lag-in-frames 0 -f ivf clip-av1.ivf
# shellcheck disable=SC2086
ff $src -c:v libx264 -profile:v baseline -level 3.1 -preset veryfast \
  -tune zerolatency -b:v 150k $gop -bf 0 -x264-params scenecut=0:repeat-headers=1:aud=1 \
  -bsf:v h264_mp4toannexb -f h264 clip-h264.h264

for f in clip-vp9.ivf clip-av1.ivf clip-h264.h264; do
  printf '%s: ' "$f"
  ffprobe -v error -count_frames -select_streams v:0 \
    -show_entries stream=codec_name,profile,width,height,nb_read_frames \
    -of csv=p=0 "$f"
done
