/* The header self-containment test links every generated header_<name>.c into one program;
 * compiling them is the test, so main has nothing to do. */
int main(void)
{
    return 0;
}
