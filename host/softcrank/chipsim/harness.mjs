// The emulated RP2040 behind `softcrank sim --chip`: rp2040js running MicroPython's RPI_PICO
// firmware, driven in emulated time by host/softcrank/chipsim/board.py over stdin/stdout.
//
//   node harness.mjs RP2040JS_DIR FIRMWARE.uf2 BOOTROM FS.img
//
// RP2040JS_DIR holds node_modules/rp2040js (chipsim/node.py installs it there); FIRMWARE is
// MicroPython's RPI_PICO .uf2; BOOTROM the RP2040 B1 ROM, as a 16 KB binary or as a text file
// of 4096 32-bit words written 0x... (rp2040js's demo/bootrom.ts); FS.img the LittleFS image
// that goes at flash offset 0xA0000 (chipsim/fsimage.py).
//
// Protocol: one JSON object per line each way. The first line out is {"ready": ...} or
// {"error": "..."}. Then, for each {"run": T_US, "ev": [[t_us, kind, a, b], ...], "in": HEX,
// "hold": 0|1} the chip runs until emulated time T_US (applying each event at its time: kind
// "p" sets GPIO a to level b, "h" gives the HX711 whose DOUT is GPIO a a new conversion b), and
// answers {"t": T_US, "out": HEX, "brake": PPM, "w": [[t_us, ppm, cost_us], ...], ...}: the bytes
// the firmware sent over USB, the brake as the PWM registers drive it, and every write of the
// brake's PWM level as [t_us, ppm, us since the ticker's wait ended, 1 if the first since it].
//
// What the harness does that rp2040js leaves to its user (its README and demo/):
// - PIO: rp2040js runs a PIO block from setTimeout, outside emulated time. Here each block is
//   stepped by a clock alarm at its state machines' clock (125 MHz / divider), so the HX711
//   program's 1 us per instruction is 1 us of emulated time.
// - Flash: rp2040js cannot erase or program flash. The bootrom's flash routines are found in
//   its function table and intercepted: erase and program act on the flash array and take the
//   time a W25Q16JV takes (FLASH_ERASE_NS a 4 KB sector, FLASH_PAGE_NS a 256-byte page), the
//   core stalled and every alarm (timer, PIO) running on, as on the chip.
// - USB: rp2040js completes every transfer in 10 us and polls OUT with empty packets. Here an
//   OUT transfer waits until the host has bytes (a real host does not poll with nothing to
//   send), and while "hold" is set the IN transfers of the CDC data endpoint stay armed and
//   unanswered: a host that stopped reading, so MicroPython's CDC driver sees a full buffer.
// - The two HX711s: a conversion pulls DOUT low; each SCK rising edge shifts out the next of
//   24 bits (MSB first); the 25th pulse raises DOUT until the next conversion (gain 128, A).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

const FLASH_ERASE_NS = 45e6; // W25Q16JV tSE typical, per 4 KB sector
const FLASH_PAGE_NS = 0.4e6; // W25Q16JV tPP typical, per 256-byte page
const FS_OFFSET = 0xa0000; // MicroPython RPI_PICO: the filesystem's first byte in flash
const BRAKE_GPIO = 14; // hardware/pinmap.json brake_pwm: PWM slice 7, channel A
const BRAKE_SLICE = 7;
const CHn_CC = 0x0c;
const FUNC_PWM = 4;
const CYCLE_NS = 8; // 125 MHz
const BUSY_RUN = 4; // timer reads this close together are a wait loop (see onTimerRead)
const BUSY_GAP_NS = 2000;

function fail(message) {
  process.stdout.write(JSON.stringify({ error: message }) + '\n');
  process.exit(1);
}

const [rp2040jsDir, firmwarePath, bootromPath, fsPath] = process.argv.slice(2);
if (!fsPath) fail('usage: node harness.mjs RP2040JS_DIR FIRMWARE.uf2 BOOTROM FS.img');

let rp;
try {
  rp = await import(pathToFileURL(join(rp2040jsDir, 'node_modules', 'rp2040js', 'dist', 'esm', 'index.js')).href);
} catch (e) {
  fail(`rp2040js is not installed in ${rp2040jsDir}: ${e.message}`);
}
const { Simulator, USBCDC, GPIOPinState } = rp;

function readBootrom(path) {
  let data;
  try {
    data = readFileSync(path);
  } catch (e) {
    fail(`cannot read the bootrom ${path}: ${e.message}`);
  }
  if (data.length === 16384) {
    return new Uint32Array(data.buffer.slice(data.byteOffset, data.byteOffset + 16384));
  }
  const words = data.toString('latin1').match(/0x[0-9a-fA-F]{8}\b/g) || [];
  if (words.length !== 4096) {
    fail(`${path} is not an RP2040 bootrom: expected a 16384-byte binary or 4096 words written 0x........ ` +
      `(rp2040js's demo/bootrom.ts), found ${data.length} bytes and ${words.length} such words`);
  }
  return Uint32Array.from(words.map((w) => parseInt(w, 16) >>> 0));
}

function loadUF2(path, mcu) {
  let data;
  try {
    data = readFileSync(path);
  } catch (e) {
    fail(`cannot read the firmware ${path}: ${e.message}`);
  }
  let blocks = 0;
  for (let at = 0; at + 512 <= data.length; at += 512) {
    const v = new DataView(data.buffer, data.byteOffset + at, 512);
    if (v.getUint32(0, true) !== 0x0a324655 || v.getUint32(4, true) !== 0x9e5d5157 ||
      v.getUint32(508, true) !== 0x0ab16f30) {
      fail(`${path} is not a UF2 file: block ${at / 512} has no UF2 magic`);
    }
    const flags = v.getUint32(8, true);
    if (flags & 0x2000 && v.getUint32(28, true) !== 0xe48bff56) {
      fail(`${path} is not for an RP2040: family id 0x${v.getUint32(28, true).toString(16)}`);
    }
    if (flags & 0x1) continue; // "not main flash"
    const addr = v.getUint32(12, true);
    const size = v.getUint32(16, true);
    if (addr < 0x10000000 || addr + size > 0x10000000 + mcu.flash.length || size > 476) {
      fail(`${path}: block ${at / 512} writes outside the flash (0x${addr.toString(16)})`);
    }
    mcu.flash.set(data.subarray(at + 32, at + 32 + size), addr - 0x10000000);
    blocks++;
  }
  if (blocks === 0) fail(`${path} is not a UF2 file: no blocks`);
  return blocks;
}

// Standard output is the protocol: whatever rp2040js logs goes to standard error.
console.log = console.info = console.warn = console.debug = (...args) => process.stderr.write(args.join(' ') + '\n');
const quiet = () => {};
const sim = new Simulator();
const mcu = sim.rp2040;
mcu.logger = { debug: quiet, info: quiet, warn: quiet, error: (component, message) => process.stderr.write(`${component}: ${message}\n`) };
const clock = sim.clock;
const core = mcu.core;
mcu.loadBootrom(readBootrom(bootromPath)); // resets the chip and erases the flash: first
const blocks = loadUF2(firmwarePath, mcu);
const fsImage = readFileSync(fsPath);
mcu.flash.set(fsImage, FS_OFFSET);

// ----- the bootrom's flash routines ------------------------------------------------------------
const romHooks = new Map(); // PC (halfword address) -> handler
function romFunction(c1, c2) {
  const code = c1.charCodeAt(0) | (c2.charCodeAt(0) << 8);
  let entry = mcu.bootrom[0x14 >> 2] & 0xffff; // the function table's address, a halfword at 0x14
  const half = (a) => (mcu.bootrom[a >> 2] >>> ((a & 2) * 8)) & 0xffff;
  for (let i = 0; i < 64; i++, entry += 4) {
    const c = half(entry);
    if (c === 0) break;
    if (c === code) return half(entry + 2) & ~1;
  }
  fail(`the bootrom has no ${c1}${c2} function: not an RP2040 B1 bootrom`);
}
const stats = { erases: 0, pages: 0, flashNs: 0 };
function stall(ns) {
  // The core waits; alarms (timer, PIO, USB) go on firing, as on the chip.
  stats.flashNs += ns;
  clock.tick(ns);
}
function returnFromRom() {
  core.PC = core.LR & ~1;
}
romHooks.set(romFunction('R', 'E'), () => { // flash_range_erase(addr, count, block_size, block_cmd)
  const addr = core.registers[0] & 0xffffff;
  const count = core.registers[1];
  mcu.flash.fill(0xff, addr, Math.min(addr + count, mcu.flash.length));
  stats.erases += Math.ceil(count / 4096);
  stall(Math.ceil(count / 4096) * FLASH_ERASE_NS);
});
romHooks.set(romFunction('R', 'P'), () => { // flash_range_program(addr, data, count)
  const addr = core.registers[0] & 0xffffff;
  const src = core.registers[1];
  const count = core.registers[2];
  for (let i = 0; i < count && addr + i < mcu.flash.length; i++) {
    mcu.flash[addr + i] &= mcu.readUint8(src + i); // programming only clears bits
  }
  stats.pages += Math.ceil(count / 256);
  stall(Math.ceil(count / 256) * FLASH_PAGE_NS);
});
for (const name of ['IF', 'EX', 'FC', 'CX']) { // connect, exit XIP, flush cache, enter XIP: nothing to do
  romHooks.set(romFunction(name[0], name[1]), () => {});
}
const hookPCs = new Uint8Array(0x4000 >> 1);
for (const pc of romHooks.keys()) hookPCs[pc >> 1] = 1;

// ----- PIO, stepped in emulated time ---------------------------------------------------------
for (const pio of mcu.pio) {
  pio.run = () => kickPio(); // instead of its setTimeout loop
}
let pioIdle = true;
const pioAlarm = clock.createAlarm(stepPio);
function pioPeriodNs() {
  let div = Infinity;
  for (const pio of mcu.pio) {
    if (pio.stopped) continue;
    for (const m of pio.machines) {
      if (m.enabled) div = Math.min(div, (m.clockDivInt || 65536) + m.clockDivFrac / 256);
    }
  }
  return div === Infinity ? 0 : div * CYCLE_NS;
}
function stepPio() {
  let busy = false;
  for (const pio of mcu.pio) {
    if (pio.stopped) continue;
    pio.step();
    for (const m of pio.machines) {
      if (m.enabled && !m.waiting) busy = true;
    }
  }
  const period = pioPeriodNs();
  if (busy && period > 0) {
    pioAlarm.schedule(period);
  } else {
    pioIdle = true; // every machine waits (on a pin): the next pin change kicks it
  }
}
function kickPio() {
  if (pioIdle && pioPeriodNs() > 0) {
    pioIdle = false;
    pioAlarm.schedule(pioPeriodNs());
  }
}

// ----- pins: inputs the world drives, the HX711s ---------------------------------------------
const level = new Map(); // GPIO -> the level the world drives
function drive(gpio, value) {
  value = !!value;
  if (level.get(gpio) === value) return; // setInputValue flags an edge even without a change
  level.set(gpio, value);
  mcu.gpio[gpio].setInputValue(value);
  kickPio();
}
const hx711 = new Map(); // DOUT GPIO -> state
function hxAttach(dout, sck) {
  const hx = { dout, word: 0, bit: -1, ready: false };
  hx711.set(dout, hx);
  drive(dout, true); // not ready
  mcu.gpio[sck].addListener((state, old) => {
    if (state !== GPIOPinState.High || old === GPIOPinState.High) return;
    if (hx.bit < 0) {
      if (!hx.ready) return;
      hx.bit = 0;
    }
    if (hx.bit < 24) {
      drive(dout, (hx.word >>> (23 - hx.bit)) & 1);
      hx.bit++;
    } else { // the 25th pulse: channel A, gain 128; DOUT high until the next conversion
      hx.bit = -1;
      hx.ready = false;
      drive(dout, true);
    }
  });
}
function hxConvert(dout, value) {
  const hx = hx711.get(dout);
  if (!hx || hx.bit >= 0) return; // mid-readout: the HX711 holds its output register
  hx.word = value & 0xffffff;
  hx.ready = true;
  drive(dout, false);
}

// ----- the brake: PWM slice 7 channel A, or GPIO 14 as a plain output ------------------------
const slice = mcu.pwm.channels[BRAKE_SLICE];
function brakePpm() {
  if (watchdogAt >= 0) return 0; // in reset: every GPIO an input, the gate pulled down
  const pin = mcu.gpio[BRAKE_GPIO];
  if (pin.functionSelect !== FUNC_PWM) return pin.value === GPIOPinState.High ? 1000000 : 0;
  if (!(slice.csr & 1)) return 0;
  const top = slice.top + 1;
  return Math.round(Math.min(slice.cc & 0xffff, top) * 1e6 / top);
}
let writes = [];
let waitEnd = 0; // ns: the end of the core's last wait (sleep, or a loop reading the timer)
let waitSeen = -1; // the waitEnd of the last write: a write after a new wait starts a tick
const origWrite = slice.writeRegister.bind(slice);
slice.writeRegister = (offset, value) => {
  origWrite(offset, value);
  if (offset === CHn_CC) {
    const now = clock.nanos;
    const first = waitEnd !== waitSeen ? 1 : 0;
    waitSeen = waitEnd;
    writes.push([Math.round(now / 1000), brakePpm(), waitEnd ? Math.round((now - waitEnd) / 1000) : -1, first]);
  }
};
// The tick's cost: from the end of the ticker's wait to the brake's write. MicroPython's
// sleep_us ends in a loop reading the timer: BUSY_RUN reads less than BUSY_GAP_NS apart mark it.
let lastRead = 0;
let run = 0;
const timer = mcu.peripherals[0x40054];
const origTimerRead = timer.readUint32.bind(timer);
timer.readUint32 = (offset) => {
  const now = clock.nanos;
  run = now - lastRead < BUSY_GAP_NS ? run + 1 : 1;
  lastRead = now;
  if (run >= BUSY_RUN) waitEnd = now;
  return origTimerRead(offset);
};

// ----- USB CDC ---------------------------------------------------------------------------------
const usb = mcu.usbCtrl;
const cdc = new USBCDC(usb);
let connected = false;
cdc.onDeviceConnected = () => { connected = true; };
let out = [];
cdc.onSerialData = (buffer) => { for (const b of buffer) out.push(b); };
const input = []; // bytes from the host not yet sent
let pendingOut = 0; // an OUT transfer the device armed, waiting for the host's bytes
usb.onEndpointRead = (endpoint, size) => {
  if (endpoint !== cdc.outEndpoint) return;
  pendingOut = size;
  feedOut();
};
function feedOut() {
  if (!pendingOut || !input.length) return;
  const chunk = Uint8Array.from(input.splice(0, Math.min(pendingOut, 64)));
  pendingOut = 0;
  usb.endpointReadDone(cdc.outEndpoint, chunk);
}
let hold = false;
const held = [];
const origDPRAM = usb.DPRAMUpdated.bind(usb);
usb.DPRAMUpdated = (offset, value) => {
  const ep = (offset - 0x80) >> 3;
  if (hold && offset >= 0x80 && offset < 0x100 && !(offset & 4) && ep === cdc.inEndpoint && ep > 0 && value & 0x400) {
    held.push(offset); // armed, not taken: the host is not reading
    return;
  }
  origDPRAM(offset, value);
};
function release() {
  while (held.length) {
    const offset = held.shift();
    origDPRAM(offset, mcu.usbDPRAMView.getUint32(offset, true));
  }
}

// ----- running -------------------------------------------------------------------------------
let busyNs = 0;
let watchdogAt = -1;
function runUntil(targetNs) {
  if (watchdogAt >= 0 && clock.nanos < targetNs) { // held in reset: time passes, nothing runs
    clock.tick(targetNs - clock.nanos);
    return;
  }
  while (clock.nanos < targetNs) {
    if (core.waiting) {
      const next = clock.nanosToNextAlarm;
      const step = next > 0 ? Math.min(next, targetNs - clock.nanos) : targetNs - clock.nanos;
      clock.tick(step);
      if (!core.waiting) waitEnd = clock.nanos;
      continue;
    }
    const pc = core.PC;
    if (pc < 0x4000 && hookPCs[pc >> 1]) {
      romHooks.get(pc)();
      returnFromRom();
      continue;
    }
    const cycles = core.executeInstruction();
    busyNs += cycles * CYCLE_NS;
    clock.tick(cycles * CYCLE_NS);
  }
}

// A watchdog reset: rp2040js leaves it to its user, and resetting the model would erase its
// flash. The harness reports it; board.py ends the run (the brake is off after a reset).
mcu.peripherals[0x40058].onWatchdogTrigger = () => {
  if (watchdogAt < 0) watchdogAt = Math.round(clock.nanos / 1000);
};

hxAttach(4, 5); // hardware/pinmap.json: load_left_dout/sck
hxAttach(6, 7); // load_right_dout/sck
core.PC = 0x10000000; // boot stage 2 at the start of flash, as rp2040js's demo starts it
process.stdout.write(JSON.stringify({ ready: true, uf2_blocks: blocks, fs_bytes: fsImage.length }) + '\n');

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch (e) {
    fail(`not a command: ${line.slice(0, 80)}`);
  }
  if (cmd.quit) break;
  if (cmd.in) {
    for (let i = 0; i < cmd.in.length; i += 2) input.push(parseInt(cmd.in.slice(i, i + 2), 16));
  }
  hold = !!cmd.hold;
  if (!hold) release();
  const events = cmd.ev || [];
  busyNs = 0;
  const started = clock.nanos;
  if (connected) feedOut();
  for (const [t, kind, a, b] of events) {
    runUntil(t * 1000);
    if (kind === 'p') drive(a, b);
    else if (kind === 'h') hxConvert(a, b);
    if (connected) feedOut();
  }
  // The host's bytes go in as the device takes them: check every 100 us.
  while (clock.nanos < cmd.run * 1000) {
    runUntil(Math.min(cmd.run * 1000, clock.nanos + 100000));
    if (connected) feedOut();
  }
  const reply = {
    t: Math.round(clock.nanos / 1000),
    out: Buffer.from(out).toString('hex'),
    brake: brakePpm(),
    w: writes,
    busy: clock.nanos > started ? Math.round(busyNs * 1e6 / (clock.nanos - started)) : 0,
    usb: connected ? 1 : 0,
    wdt: watchdogAt,
    held: held.length,
    flash: [stats.erases, stats.pages, Math.round(stats.flashNs / 1000)],
  };
  out = [];
  writes = [];
  process.stdout.write(JSON.stringify(reply) + '\n');
}
process.exit(0);
