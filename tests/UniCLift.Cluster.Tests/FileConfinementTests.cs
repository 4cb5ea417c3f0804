namespace UniCLift.Cluster.Tests;

using UniCLift.Compute.IO;
using UniCLift.Grains.Security;

/// <summary>
/// <see cref="DataRoots.Confine"/> checks what the operating system actually opened, on real folders, files and symbolic
/// links: a link that leads out of the roots is refused at the open even when no name check ran before it, a write
/// through such a link creates nothing outside, and a directory swapped for a link while files are being read never
/// lets a byte from outside through.
/// </summary>
public sealed class FileConfinementTests : IDisposable
{
    private readonly string top = Directory.CreateTempSubdirectory("uniclift-confine-").FullName;
    private readonly string scenes, results, outside, secret;
    private readonly DataRoots roots;

    public FileConfinementTests()
    {
        scenes = Directory.CreateDirectory(Path.Combine(top, "scenes")).FullName;
        results = Directory.CreateDirectory(Path.Combine(top, "results")).FullName;
        outside = Directory.CreateDirectory(Path.Combine(top, "outside")).FullName;
        secret = Path.Combine(outside, "secret.txt");
        File.WriteAllText(secret, "outside");
        roots = new DataRoots([scenes], [results], Path.Combine(top, "results", "ckpt"));
    }

    public void Dispose() => Directory.Delete(top, recursive: true);

    [Fact]
    public void This_Machine_Checks_Descriptors()
    {
        // The race-free checks are what the silo images (Linux x64 and arm64) run; a silent fall-back to names would hide here.
        Assert.Equal(OperatingSystem.IsLinux(), FileConfinement.ChecksDescriptors);
    }

    [Fact]
    public void A_Read_Through_A_Link_Out_Of_The_Roots_Is_Refused_At_The_Open()
    {
        Directory.CreateDirectory(Path.Combine(scenes, "room"));
        File.WriteAllText(Path.Combine(scenes, "room", "inside.txt"), "inside");
        File.CreateSymbolicLink(Path.Combine(scenes, "room", "escape.txt"), secret);
        Directory.CreateSymbolicLink(Path.Combine(scenes, "room", "escape-dir"), outside);
        Directory.CreateSymbolicLink(Path.Combine(scenes, "linked-results"), results); // a link between roots stays inside
        File.WriteAllText(Path.Combine(results, "model.txt"), "result");

        // Unconfined (the console on a user's own files) it reads where the link goes.
        Assert.Equal("outside", DataFile.ReadAllText(Path.Combine(scenes, "room", "escape.txt")));
        using (roots.Confine())
        {
            Assert.Equal("inside", DataFile.ReadAllText(Path.Combine(scenes, "room", "inside.txt")));
            Assert.Equal("result", DataFile.ReadAllText(Path.Combine(scenes, "linked-results", "model.txt")));
            var e = Assert.Throws<UnauthorizedAccessException>(() => DataFile.ReadAllText(Path.Combine(scenes, "room", "escape.txt")));
            Assert.Contains("escape.txt", e.Message);
            Assert.Contains(secret, e.Message); // where it really leads
            Assert.Throws<UnauthorizedAccessException>(() => DataFile.ReadAllBytes(Path.Combine(scenes, "room", "escape-dir", "secret.txt")));
            Assert.Throws<UnauthorizedAccessException>(() => DataFile.ReadLines(Path.Combine(scenes, "room", "escape-dir", "secret.txt")).ToList());
            // The readers of real formats go through it too.
            Assert.Throws<UnauthorizedAccessException>(() => Npy.Read(Path.Combine(scenes, "room", "escape.txt")));
        }
    }

    [Fact]
    public async Task The_Confinement_Follows_The_Work_Onto_Other_Threads_And_Ends_With_Its_Scope()
    {
        var escape = Path.Combine(scenes, "escape.txt");
        File.CreateSymbolicLink(escape, secret);
        using (roots.Confine())
        {
            await Assert.ThrowsAsync<UnauthorizedAccessException>(() => Task.Run(() => DataFile.ReadAllText(escape)));
        }
        Assert.Equal("outside", DataFile.ReadAllText(escape));
    }

    [Fact]
    public void A_Write_Through_A_Link_Out_Of_The_Roots_Creates_Nothing_Outside()
    {
        Directory.CreateSymbolicLink(Path.Combine(results, "escape"), outside);
        var before = Directory.GetFileSystemEntries(outside).Order().ToArray();
        using (roots.Confine())
        {
            var e = Assert.Throws<UnauthorizedAccessException>(() => AtomicFile.WriteAllText(Path.Combine(results, "escape", "labels.txt"), "x"));
            Assert.Contains(outside, e.Message);
            // Over an existing file outside, through the link: refused, the file untouched.
            Assert.Throws<UnauthorizedAccessException>(() => AtomicFile.WriteAllText(Path.Combine(results, "escape", "secret.txt"), "overwritten"));
            // A scene root itself takes a derived file (a COLMAP scene's points3D.ply); a link out of it does not.
            AtomicFile.WriteAllText(Path.Combine(scenes, "points3D.ply"), "x");
            Directory.CreateSymbolicLink(Path.Combine(scenes, "escape"), outside);
            Assert.Throws<UnauthorizedAccessException>(() => AtomicFile.WriteAllText(Path.Combine(scenes, "escape", "points3D.ply"), "x"));

            // Under an output root a write goes through, replacing the old file atomically, leaving no temporary file.
            var ok = Path.Combine(results, "scene", "labels.txt");
            AtomicFile.WriteAllText(ok, "first");
            AtomicFile.WriteAllText(ok, "second");
            Assert.Equal("second", File.ReadAllText(ok));
            Assert.Equal(["labels.txt"], Directory.GetFiles(Path.GetDirectoryName(ok)!).Select(Path.GetFileName));
            // A link planted where the file goes is replaced by the file, not followed.
            var planted = Path.Combine(results, "scene", "planted.txt");
            File.CreateSymbolicLink(planted, secret);
            AtomicFile.WriteAllText(planted, "mine");
            Assert.Null(new FileInfo(planted).LinkTarget);
            Assert.Equal("mine", File.ReadAllText(planted));
        }
        Assert.Equal(before, Directory.GetFileSystemEntries(outside).Order().ToArray());
        Assert.Equal("outside", File.ReadAllText(secret));
    }

    [Fact]
    public void A_Write_That_Fails_Leaves_The_Old_File_And_No_Temporary_File()
    {
        var path = Path.Combine(results, "metrics.json");
        using (roots.Confine())
        {
            AtomicFile.WriteAllText(path, "old");
            Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
            {
                s.Write("half"u8);
                throw new InvalidOperationException("the writer failed");
            }));
        }
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal(["metrics.json"], Directory.GetFiles(results).Select(Path.GetFileName));
    }

    [Fact]
    public async Task A_Directory_Swapped_For_A_Link_While_Files_Are_Read_Never_Lets_Outside_Bytes_Through()
    {
        // The race the name checks alone leave open: a writer inside a root flips scenes/room between a real folder and
        // a link to a folder outside, while the silo reads scenes/room/secret.txt.
        var room = Path.Combine(scenes, "room");
        var real = Path.Combine(scenes, "room-real");
        Directory.CreateDirectory(real);
        File.WriteAllText(Path.Combine(real, "secret.txt"), "inside");
        var linkToReal = Path.Combine(scenes, "room-link-in");
        Directory.CreateSymbolicLink(linkToReal, real);
        Rename(linkToReal, room);

        using var stop = new CancellationTokenSource();
        using var flipping = new ManualResetEventSlim();
        // Its own thread, not the pool's: with both test assemblies running on 2 cores a pool task was not scheduled
        // for the whole read loop once (300k reads, all inside, none refused).
        var flipper = Task.Factory.StartNew(() =>
        {
            bool toOutside = true;
            while (!stop.IsCancellationRequested)
            {
                // Atomic swaps by rename: room is always one of the two links.
                var spare = Path.Combine(scenes, "spare");
                Directory.CreateSymbolicLink(spare, toOutside ? outside : real);
                Rename(spare, room);
                toOutside = !toOutside;
                flipping.Set();
            }
        }, TaskCreationOptions.LongRunning);
        Assert.True(flipping.Wait(TimeSpan.FromSeconds(30)), "the link never flipped");
        int read = 0, refused = 0;
        var target = Path.Combine(room, "secret.txt");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using (roots.Confine())
        {
            while (clock.Elapsed < TimeSpan.FromSeconds(20) && (read < 200 || refused < 200))
            {
                try
                {
                    Assert.Equal("inside", DataFile.ReadAllText(target));
                    read++;
                }
                catch (UnauthorizedAccessException) { refused++; }
                catch (FileNotFoundException) { } // between two renames on some file systems
            }
        }
        stop.Cancel();
        await flipper;
        // Both sides of the race happened, so the reads above really met the swapped link.
        Assert.True(read > 0 && refused > 0, $"the race was not exercised: {read} reads, {refused} refusals");
    }

    /// <summary>rename(2): replaces the link at <paramref name="to"/> in one step (File.Move refuses links to directories).</summary>
    private static void Rename(string from, string to)
    {
        if (rename(from, to) != 0) throw new IOException($"rename {from} -> {to}: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int rename(string from, string to);
}
