// The seed tutorial's server stack, reduced to what the benchmark measures:
// Socket.IO 4 relaying each 'signal' event to the other members of the
// sender's room. Prints its port, then serves until stdin closes.
'use strict';

const http = require('http');
const { Server } = require('socket.io');

const server = http.createServer();
const io = new Server(server, { serveClient: false, perMessageDeflate: false });

io.on('connection', (socket) => {
  socket.on('join', (room) => {
    if (typeof room !== 'string') return;
    socket.data.room = room;
    socket.join(room);
  });
  socket.on('signal', (message) => {
    if (socket.data.room) socket.to(socket.data.room).emit('signal', message);
  });
});

server.listen(0, '127.0.0.1', () => console.log(server.address().port));
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
