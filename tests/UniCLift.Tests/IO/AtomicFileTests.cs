namespace UniCLift.Tests.IO;

using UniCLift.Compute.IO;

/// <summary>A process that stops waits for writes still running on other threads (Cli.RunAsync, the silo program).</summary>
public sealed class AtomicFileTests
{
    [Fact]
    public async Task WaitForPendingWritesWaitsForAWriteInProgressAndItsRename()
    {
        using var dir = new TempDir();
        var path = dir.File("out.bin");
        using var inside = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        // The write on a thread of its own: early in a CI run, with both test assemblies starting on 2 cores, a pool task
        // waited more than the 10 s below for a thread (the pool was busy with tests blocking on their own waits).
        var writing = Task.Factory.StartNew(() => AtomicFile.Write(path, s =>
        {
            s.Write(new byte[1000]);
            inside.Set();
            release.Wait();
            s.Write(new byte[1000]);
        }), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        Assert.True(inside.Wait(TimeSpan.FromSeconds(10)), "the write never started");

        // Other tests may write in parallel, so only this write's effect is asserted: it holds the wait up.
        Assert.True(AtomicFile.PendingWrites >= 1);
        Assert.False(AtomicFile.WaitForPendingWrites(TimeSpan.FromMilliseconds(100)));
        Assert.False(File.Exists(path));
        Assert.Single(Directory.GetFiles(dir.Path, "*.tmp"));

        release.Set();
        await writing;
        Assert.True(AtomicFile.WaitForPendingWrites(TimeSpan.FromSeconds(30)));
        Assert.Equal(2000, new FileInfo(path).Length);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
    }

    [Fact]
    public void TheDirectorySyncAfterARenameNamesTheFileWhenItCannotOpenTheDirectory()
    {
        using var dir = new TempDir();
        var path = dir.File("model.ply");
        AtomicFile.WriteAllText(path, "whole");
        Assert.Equal("whole", File.ReadAllText(path));
        FileConfinement.Linux.SyncDirectory(FileConfinement.Linux.CurrentDirectory, dir.Path, path); // a real directory syncs
        var gone = Path.Combine(dir.Path, "gone");
        var e = Assert.Throws<IOException>(() => FileConfinement.Linux.SyncDirectory(FileConfinement.Linux.CurrentDirectory, gone, Path.Combine(gone, "model.ply")));
        Assert.Contains(Path.Combine(gone, "model.ply"), e.Message);
        Assert.Contains("No such file", e.Message);
    }
}
