using UniCLift.Silo;

var app = SiloHost.Build(args);
using var signals = StopSignals.Watch(app.Lifetime);
await app.RunAsync();
// A write still running on another thread (a view's label map) ends with its rename, not as a left-over temporary file.
UniCLift.Compute.IO.AtomicFile.WaitForPendingWrites(TimeSpan.FromSeconds(10));
return signals.ExitCode;
