#define CL_VERSION "7ab89fe-dirty"
