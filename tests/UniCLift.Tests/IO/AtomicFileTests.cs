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

    /// <summary>A real tmpfs at <paramref name="dir"/> (the test needs root, as CI runs it): unmounted when disposed.</summary>
    private sealed class Tmpfs : IDisposable
    {
        private readonly string dir;
        public Tmpfs(string dir, string options)
        {
            this.dir = dir;
            Directory.CreateDirectory(dir);
            using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("mount", ["-t", "tmpfs", "-o", options, "tmpfs", dir])
                { RedirectStandardError = true })!;
            var err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"this test needs root to mount a tmpfs (a real full or read-only disk): mount -o {options} failed: {err}");
        }
        public void Dispose() => System.Diagnostics.Process.Start("umount", ["-l", dir])!.WaitForExit();
    }

    [Fact]
    public void A_Write_The_File_System_Refuses_Names_The_File_And_Why_In_One_Line_And_Leaves_The_Old_File()
    {
        using var dir = new TempDir();
        using (new Tmpfs(dir.File("small"), "size=64k"))
        {
            var path = Path.Combine(dir.File("small"), "labels.ply");
            AtomicFile.WriteAllBytes(path, new byte[8000]);
            var e = Assert.Throws<CannotWriteException>(() => AtomicFile.WriteAllBytes(path, new byte[400_000]));
            // The file asked for, not the temporary one it went through; why, in the system's words; no .NET type.
            Assert.Equal($"cannot write {path}: No space left on device.", e.Message);
            Assert.Equal(e.Message, Compute.FailurePolicy.Describe(e));
            Assert.False(Compute.FailurePolicy.IsBadInput(e)); // the environment's: exit code 1
            Assert.Equal(8000, new FileInfo(path).Length);
            Assert.Single(Directory.GetFileSystemEntries(dir.File("small")));
        }
        using (new Tmpfs(dir.File("ro"), "ro,size=64k"))
        {
            var path = Path.Combine(dir.File("ro"), "out", "model.ply");
            var e = Assert.Throws<CannotWriteException>(() => AtomicFile.WriteAllText(path, "x"));
            Assert.Equal($"cannot write {path}: Read-only file system.", e.Message);
            // A folder for results is checked before the work that fills it, in the same words.
            var folder = Assert.Throws<CannotWriteException>(() => OutputFolder.EnsureWritable(Path.Combine(dir.File("ro"), "out"), "output directory"));
            Assert.Equal($"cannot write to output directory {Path.Combine(dir.File("ro"), "out")}: Read-only file system.", folder.Message);
        }
        // Something that is not the file system refusing (a writer's own failure) is left as it was.
        var own = Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(dir.File("x.bin"), _ => throw new InvalidOperationException("the writer's own")));
        Assert.Equal("the writer's own", own.Message);
        Assert.Null(AtomicFile.CannotWrite(new IOException("Broken pipe", 32), dir.File("x.bin")));
        Assert.Null(AtomicFile.CannotWrite(new UnauthorizedAccessException("Access to the path '/etc/shadow' is denied."), dir.File("x.bin")));
        Assert.Equal("Permission denied", AtomicFile.CannotWrite(new UnauthorizedAccessException($"Access to the path '{dir.Path}' is denied."), dir.File("a/b.bin")));
    }

    [Fact]
    public void An_Output_Folder_Is_Made_And_Checked_And_A_Path_Through_A_File_Is_Bad_Input()
    {
        using var dir = new TempDir();
        var made = dir.File("new/result");
        OutputFolder.EnsureWritable(made, "output directory");
        Assert.True(Directory.Exists(made));
        Assert.Empty(Directory.GetFileSystemEntries(made)); // the check's file is gone
        File.WriteAllText(dir.File("afile"), "a file");
        var through = Assert.Throws<ArgumentException>(() => OutputFolder.EnsureWritable(dir.File("afile/sub"), "output directory"));
        Assert.Equal($"output directory {dir.File("afile/sub")} cannot be made: {dir.File("afile")} is a file, not a directory.", through.Message);
        var itself = Assert.Throws<ArgumentException>(() => OutputFolder.EnsureWritable(dir.File("afile"), "--out"));
        Assert.Contains("is a file; name a directory", itself.Message);
    }
}
