// Server-Sent Events over a fetch() body. EventSource can only GET, and the
// chat endpoint is a POST, so the page reads the stream itself. The parser
// follows the WHATWG event-stream rules: lines end in \r\n, \n or \r; a blank
// line dispatches; lines starting with ":" are comments (the server's
// heartbeats); "field: value" loses one leading space from the value.
// The "id" field is kept as the standard's last event ID: it carries over to
// later events until another id sets it; the advisor's token events use it
// for the reply's byte offset, which a reconnect sends as Last-Event-ID.

// createParser returns {push(text), end()}; onEvent gets {event, data, id}
// for each dispatched event ("message" when the stream names none; id is
// the last event ID, "" until a stream sets one).
export function createParser(onEvent) {
  let buffer = "";
  let event = "";
  let data = [];
  let lastId = "";

  function dispatch() {
    if (data.length > 0) {
      onEvent({ event: event || "message", data: data.join("\n"), id: lastId });
    }
    event = "";
    data = [];
  }

  function line(text) {
    if (text === "") {
      dispatch();
      return;
    }
    if (text.startsWith(":")) return;
    const colon = text.indexOf(":");
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
    // An id with a NUL is ignored, as the standard says. "retry" only
    // matters to EventSource's own reconnects.
    else if (field === "id" && !value.includes("\0")) lastId = value;
  }

  function drain(final) {
    for (;;) {
      const at = buffer.search(/[\r\n]/);
      if (at < 0) break;
      // A lone \r at the end of a chunk may be the first half of \r\n.
      if (buffer[at] === "\r" && at === buffer.length - 1 && !final) break;
      const width = buffer[at] === "\r" && buffer[at + 1] === "\n" ? 2 : 1;
      line(buffer.slice(0, at));
      buffer = buffer.slice(at + width);
    }
  }

  return {
    push(text) {
      buffer += text;
      drain(false);
    },
    // end flushes what is left; an event without its blank line is dropped,
    // as the standard says, so a cut-off stream never looks complete.
    end() {
      drain(true);
    },
  };
}

// readEvents reads a Response body to its end, calling onEvent per event.
// When until() turns true after a chunk, it stops reading and cancels the
// body (the reader has what it wanted, or found it cannot use the rest).
export async function readEvents(body, onEvent, { until = () => false } = {}) {
  const parser = createParser(onEvent);
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    parser.push(value);
    if (until()) {
      await reader.cancel().catch(() => {});
      return;
    }
  }
  parser.end();
}
