// Every mongoose model of the platform, imported for their side effect of registering
// with mongoose, so `niaga migrate` and key rotation see all of them.
import "../storage/models/index.ts";
