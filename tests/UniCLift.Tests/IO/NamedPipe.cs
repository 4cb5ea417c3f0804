namespace UniCLift.Tests.IO;

using System.Runtime.InteropServices;

/// <summary>Named pipes (FIFOs) for the tests of readers that must refuse one rather than wait for its writer.</summary>
internal static class NamedPipe
{
    [DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int MakeFifo([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int mode);

    /// <summary>Makes a named pipe at <paramref name="path"/> (mode 644); Linux only, as the suite runs.</summary>
    public static void Make(string path)
    {
        if (MakeFifo(path, Convert.ToInt32("644", 8)) != 0)
            throw new IOException($"mkfifo {path}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
    }
}
