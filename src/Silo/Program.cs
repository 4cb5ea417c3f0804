using UniCLift.Silo;

WebApplication app;
try { app = SiloHost.Build(args); }
catch (Exception e) { return SiloFailure.Report(e, Console.Error); }
using var signals = StopSignals.Watch(app.Lifetime);
try { await app.RunAsync(); }
catch (Exception e) { return SiloFailure.Report(e, Console.Error); } // did not start: Redis down, a port in use
// A write still running on another thread (a view's label map) ends with its rename, not as a left-over temporary file.
UniCLift.Compute.IO.AtomicFile.WaitForPendingWrites(TimeSpan.FromSeconds(10));
return signals.ExitCode;
