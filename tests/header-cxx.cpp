// header-cxx.cpp: the public header compiles and links as C++.
#include <gitterstream.h>

int main()
{
    gitterstream_parser *p = gitterstream_parser_new();
    gitterstream_parser_free(p);
    return gitterstream_version() == nullptr;
}
