-- SPDX-License-Identifier: MIT
-- Ardour (headless, ardour7-lua) as the DAW of tests/engine/test_ardour.py: a session on the
-- JACK server of JACK_DEFAULT_SERVER at a tempo, sending MIDI clock, with one MIDI track armed.
-- When the file arg[3] appears it records with the transport rolling for arg[4] seconds,
-- stops, saves and quits; what it recorded is in the session's interchange/*/midifiles/.
local folder, bpm, go, seconds = arg[1], tonumber(arg[2]), arg[3], tonumber(arg[4])
assert(AudioEngine:set_backend("JACK", "", ""), "no JACK backend")
local session = create_session(folder, "barforge", 48000)
assert(session, "no session")
ARDOUR.config():set_send_midi_clock(true)
local midi = ARDOUR.DataType("midi")
local tracks = session:new_midi_track(
  ARDOUR.ChanCount(midi, 1), ARDOUR.ChanCount(ARDOUR.DataType("audio"), 2), false,
  ARDOUR.PluginInfo(), nil, nil, 1, "Barforge", ARDOUR.PresentationInfo.max_order,
  ARDOUR.TrackMode.Normal, false, false)
local map = Temporal.TempoMap.fetch_writable()
map:set_tempo(Temporal.Tempo(bpm, bpm, 4), Temporal.timepos_t(0))
Temporal.TempoMap.update(map)
for track in tracks:iter() do
  track:rec_enable_control():set_value(1, PBD.GroupControlDisposition.NoGroup)
end
print("ready")
io.stdout:flush()
while true do
  local f = io.open(go, "r")
  if f then f:close() break end
  sleep(0.05)
end
session:maybe_enable_record(false)
session:request_roll(ARDOUR.TransportRequestSource.TRS_UI)
sleep(seconds)
session:request_stop(false, false, ARDOUR.TransportRequestSource.TRS_UI)
sleep(1)
session:save_state("", false, false, false, false, false)
print("saved")
close_session()
