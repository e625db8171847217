// A backend that registers and reports until it is killed: run as a child process so a
// test can SIGKILL it and watch its lease expire. argv: lookaside address, service, port.
import { clients } from './protos.js';
import { openReport, steadyLoad } from './streams.js';

const [address, service, port] = process.argv.slice(2);
const reporter = openReport(clients(address));
reporter.register(service, '127.0.0.1', Number(port));
await reporter.registered();
console.log('registered');
setInterval(() => reporter.report(steadyLoad()), 200);
