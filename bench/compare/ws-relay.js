// A plain Node relay on the `ws` package with the same room semantics as
// socketio-relay.js: {type: 'join', room} joins a room, and any other JSON
// message is sent as it came to the other members of the sender's room.
// Prints its port, then serves until stdin closes.
'use strict';

const http = require('http');
const { WebSocketServer } = require('ws');

const server = http.createServer();
const wss = new WebSocketServer({ server, perMessageDeflate: false });
const rooms = new Map();

wss.on('connection', (socket) => {
  let room = null;
  socket.on('message', (data) => {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (message.type === 'join' && typeof message.room === 'string' && room === null) {
      room = message.room;
      if (!rooms.has(room)) rooms.set(room, new Set());
      rooms.get(room).add(socket);
      return;
    }
    if (room === null) return;
    const text = data.toString();
    for (const other of rooms.get(room)) {
      if (other !== socket) other.send(text);
    }
  });
  socket.on('close', () => {
    if (room === null) return;
    const members = rooms.get(room);
    members.delete(socket);
    if (members.size === 0) rooms.delete(room);
  });
});

server.listen(0, '127.0.0.1', () => console.log(server.address().port));
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
