#define CL_LIBDIR "/usr/local/lib"
