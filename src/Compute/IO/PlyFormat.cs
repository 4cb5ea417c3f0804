namespace UniCLift.Compute.IO;

public enum PlyFormat { Ascii, BinaryLittleEndian, BinaryBigEndian }
